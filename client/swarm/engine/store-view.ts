// Wraps a chunk store (abstract-chunk-store) given to webtorrent.
// - `get` hands back a Buffer: webtorrent's cache-chunk-store answers each
//   upload request with `piece.slice(...)`, a view on a Buffer but a copy on
//   a plain Uint8Array (what fs-chunk-store returns).
// - It counts the pieces handed to the store and not yet written, and tells
//   the torrent (`_storeBacklog`): when the disk is slower than the network,
//   tuning.ts stops requesting, instead of piling verified pieces up in RAM
//   (webtorrent's immediate-chunk-store holds each one until it is written).
type Cb<T = void> = (err: Error | null, v?: T) => void
type ChunkStore = {
  chunkLength: number
  put(i: number, buf: Uint8Array, cb?: Cb): void
  get(i: number, opts: unknown, cb: Cb<Uint8Array>): void
  close?(cb?: Cb): void
  destroy?(cb?: Cb): void
}
type StoreCtor = new (chunkLength: number, opts: Record<string, unknown>) => ChunkStore
type StoreFactory = (chunkLength: number, opts: Record<string, unknown>) => unknown
/** What the store tells the torrent it belongs to (read by tuning.ts). */
export type BacklogHost = {
  _storeBacklog?: () => number
  _storeBacklogMax?: number
  _update?: () => void
  destroyed?: boolean
}

/** Pieces written to the store but not yet acknowledged, above which no more blocks are requested. */
export const MAX_STORE_BACKLOG = 16
/** ... and at most this many bytes of them (4 MiB pieces would make 16 pieces 64 MiB). */
const MAX_STORE_BACKLOG_BYTES = 16 << 20

/** The backlog cap for pieces of `chunkLength` bytes: 16 pieces, fewer for big pieces, at least 4. */
export function backlogCap(chunkLength: number): number {
  return Math.max(4, Math.min(MAX_STORE_BACKLOG, Math.floor(MAX_STORE_BACKLOG_BYTES / chunkLength)))
}

const asBuffer = (b: Uint8Array) => (Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength))

/** A store class for webtorrent's `store` option; `make` builds the real store. */
export function bufferViewStore(make: StoreFactory): StoreCtor {
  return class BufferViewStore {
    readonly inner: ChunkStore
    readonly chunkLength: number
    /** webtorrent builds the store inside an async function: a throw there would be an unhandled rejection. */
    readonly failed: Error | undefined
    constructor(chunkLength: number, opts: Record<string, unknown>) {
      let inner: ChunkStore
      try {
        inner = make(chunkLength, opts) as ChunkStore
      } catch (e) {
        this.failed = e instanceof Error ? e : new Error(String(e))
        inner = brokenStore(chunkLength, this.failed)
      }
      this.inner = inner
      this.chunkLength = chunkLength
      const host = opts.torrent as BacklogHost | undefined
      this.host = host
      this.max = backlogCap(chunkLength)
      if (host) {
        host._storeBacklog = () => this.pending
        host._storeBacklogMax = this.max
      }
    }
    readonly host: BacklogHost | undefined
    readonly max: number
    pending = 0
    put(i: number, buf: Uint8Array, cb?: Cb): void {
      this.pending++
      this.inner.put(i, buf, (err) => {
        this.pending--
        // Requests were held back while the store was busy: resume them.
        if (this.pending === this.max - 1 && this.host && !this.host.destroyed) this.host._update?.()
        cb?.(err)
      })
    }
    get(i: number, opts: unknown, cb?: Cb<Uint8Array>): void {
      const done = (typeof opts === 'function' ? opts : cb) as Cb<Uint8Array>
      this.inner.get(i, typeof opts === 'function' ? null : opts, (err, b) =>
        err || !b ? done(err ?? new Error('empty chunk')) : done(null, asBuffer(b)),
      )
    }
    close(cb: Cb = () => undefined): void {
      if (this.inner.close) this.inner.close(cb)
      else queueMicrotask(() => cb(null))
    }
    destroy(cb: Cb = () => undefined): void {
      if (this.inner.destroy) this.inner.destroy(cb)
      else this.close(cb)
    }
  }
}

function brokenStore(chunkLength: number, err: Error): ChunkStore {
  const fail = (cb?: Cb<never>) => queueMicrotask(() => cb?.(err))
  return { chunkLength, put: (_i, _b, cb) => fail(cb), get: (_i, _o, cb) => fail(cb) }
}
