// Who may read a content version (torrent, manifest, signature, index, web
// seed) without the admin token. Content is never named by an install plan,
// so the plan rule cannot decide: a version published with --public is
// readable by anyone who reaches the server; any other needs the token.
// The flag lives in the version's meta file (meta/content/NAME/VER.json).
import { readFile } from 'node:fs/promises'
import { errors } from '../../common/errors.ts'
import { formatRef } from '../../common/names.ts'
import type { ApiContext } from '../api/context.ts'
import type { Store } from '../store/store.ts'

const TTL_MS = 2000
const cache = new Map<string, { at: number; value: Promise<boolean> }>()

/** True when NAME@VER was published with --public (cached briefly: the web seed asks once per piece). */
export function isPublic(store: Store, name: string, version: string): Promise<boolean> {
  const key = `${store.root}\0${name}\0${version}`
  const now = Date.now()
  const hit = cache.get(key)
  if (hit && now - hit.at < TTL_MS) return hit.value
  const value = readFile(store.metaFile('content', name, version), 'utf8').then(
    (t) => (JSON.parse(t) as { public?: unknown }).public === true,
    () => false,
  )
  if (cache.size > 10_000) cache.clear()
  cache.set(key, { at: now, value })
  return value
}

/** Node-facing read of a content version by a caller without the admin token. */
export async function authorizeContentRead(ctx: ApiContext, name: string, version: string): Promise<void> {
  if (await isPublic(ctx.store, name, version)) return
  throw errors.notFound(
    'content',
    formatRef(name, version),
    'it was published without --public: fetch it with the admin token (imgswarm fetch --token-file), or publish a public version (imgswarm publish DIR NAME --public)',
  )
}
