// The store as the API reads it, with a short cache: web seed requests come
// once per piece from every node, and each would otherwise re-read a
// directory and a manifest. Packed versions are immutable, so the only
// staleness is a version packed or removed behind the server's back, which
// shows within TTL_MS; the API's own pack/remove clears the cache at once.
import type { ArtifactLookup } from '../plans/index.ts'
import type { Kind, PackedInfo, Store } from '../store/store.ts'

const TTL_MS = 2000

export class Catalog implements ArtifactLookup {
  readonly store: Store
  #cache = new Map<string, { at: number; value: Promise<unknown> }>()

  constructor(store: Store) {
    this.store = store
  }

  #cached<T>(key: string, load: () => Promise<T>): Promise<T> {
    const now = Date.now()
    const hit = this.#cache.get(key)
    if (hit && now - hit.at < TTL_MS) return hit.value as Promise<T>
    const value = load()
    this.#cache.set(key, { at: now, value })
    // A failed read is not remembered.
    value.catch(() => this.#cache.delete(key))
    if (this.#cache.size > 10_000) this.#cache.clear()
    return value
  }

  invalidate(): void {
    this.#cache.clear()
  }

  versions(kind: Kind, name: string): Promise<string[]> {
    return this.#cached(`v\0${kind}\0${name}`, () => this.store.versions(kind, name))
  }

  packed(kind: Kind, name: string, version: string): Promise<PackedInfo | undefined> {
    return this.#cached(`p\0${kind}\0${name}\0${version}`, () => this.store.packed(kind, name, version))
  }

  async latestPacked(kind: Kind, name: string): Promise<string | undefined> {
    const versions = await this.versions(kind, name)
    for (let i = versions.length - 1; i >= 0; i--) {
      const v = versions[i] as string
      if (await this.packed(kind, name, v)) return v
    }
    return undefined
  }
}
