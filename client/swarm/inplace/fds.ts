// A small LRU of open files, so a large file written piece by piece is not
// reopened for every piece. Bounded: the least recently used handle that no
// operation is using is closed when the cache is full.
import type { FileHandle } from 'node:fs/promises'

interface Slot {
  fh: Promise<FileHandle>
  refs: number
  dropped: boolean
}

export class FdCache {
  readonly #max: number
  readonly #open: (key: number) => Promise<FileHandle>
  readonly #slots = new Map<number, Slot>()

  constructor(max: number, open: (key: number) => Promise<FileHandle>) {
    this.#max = Math.max(1, max)
    this.#open = open
  }

  /** Runs `fn` with the file `key` open; the handle stays cached afterwards. */
  async use<T>(key: number, fn: (fh: FileHandle) => Promise<T>): Promise<T> {
    let slot = this.#slots.get(key)
    if (slot) {
      this.#slots.delete(key)
      this.#slots.set(key, slot)
    } else {
      const s: Slot = { fh: this.#open(key), refs: 0, dropped: false }
      s.fh.catch(() => {
        if (this.#slots.get(key) === s) this.#slots.delete(key)
      })
      slot = s
      this.#slots.set(key, slot)
    }
    slot.refs++
    this.#trim()
    try {
      return await fn(await slot.fh)
    } finally {
      slot.refs--
      if (slot.dropped && slot.refs === 0) await close(slot)
    }
  }

  #trim(): void {
    if (this.#slots.size <= this.#max) return
    for (const [key, slot] of this.#slots) {
      if (this.#slots.size <= this.#max) break
      if (slot.refs > 0) continue
      this.#slots.delete(key)
      slot.dropped = true
      void close(slot)
    }
  }

  /** Closes `key`'s handle (now, or when its last user is done). */
  async drop(key: number): Promise<void> {
    const slot = this.#slots.get(key)
    if (!slot) return
    this.#slots.delete(key)
    slot.dropped = true
    if (slot.refs === 0) await close(slot)
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.#slots.keys()].map((k) => this.drop(k)))
  }
}

async function close(slot: Slot): Promise<void> {
  const fh = await slot.fh.catch(() => undefined)
  await fh?.close().catch(() => undefined)
}

/** Writes all of `b` at `position`. */
export async function pwriteAll(fh: FileHandle, b: Buffer, position: number): Promise<void> {
  let done = 0
  while (done < b.length) {
    const { bytesWritten } = await fh.write(b, done, b.length - done, position + done)
    done += bytesWritten
  }
}

/** Fills `b` from `position`; returns false if the file ended first. */
export async function preadAll(fh: FileHandle, b: Buffer, position: number): Promise<boolean> {
  let done = 0
  while (done < b.length) {
    const { bytesRead } = await fh.read(b, done, b.length - done, position + done)
    if (bytesRead === 0) return false
    done += bytesRead
  }
  return true
}

/** Runs `fn` over `items` with at most `limit` at once (the thread pool does the I/O); the first error wins. */
export async function forEachLimit<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  if (items.length === 1) return fn(items[0] as T)
  let next = 0
  let failed = false
  const worker = async () => {
    while (next < items.length && !failed) {
      const item = items[next++] as T
      try {
        await fn(item)
      } catch (e) {
        failed = true
        throw e
      }
    }
  }
  const results = await Promise.allSettled(Array.from({ length: Math.min(limit, items.length) }, worker))
  const bad = results.find((r) => r.status === 'rejected')
  if (bad) throw (bad as PromiseRejectedResult).reason
}
