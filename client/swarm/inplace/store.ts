// The abstract-chunk-store face of an InPlaceTarget, for webtorrent:
//   client.add(torrent, { store: InPlaceStore, storeOpts: { inplace: target } })
// webtorrent calls `new Store(pieceLength, { ...storeOpts, torrent, length, files, ... })`.
import { errors } from '../../../common/errors.ts'
import type { InPlaceTarget } from './target.ts'

export interface InPlaceStoreOpts {
  inplace: InPlaceTarget
  /** The torrent's total length, checked against the index when given (webtorrent passes it). */
  length?: number
}

type Cb<T = void> = (err: Error | null, value?: T) => void
type GetOpts = { offset?: number; length?: number } | null | undefined

function done<T>(p: Promise<T>, cb: Cb<T> | undefined): void {
  p.then(
    (v) => queueMicrotask(() => cb?.(null, v)),
    (e: Error) => queueMicrotask(() => cb?.(e)),
  )
}

export class InPlaceStore {
  readonly chunkLength: number
  readonly #target: InPlaceTarget
  #closed = false

  constructor(chunkLength: number, opts: InPlaceStoreOpts) {
    const t = opts?.inplace
    if (!t) throw new TypeError('InPlaceStore needs storeOpts.inplace (an InPlaceTarget from prepareInPlace)')
    if (chunkLength !== t.pieceLength) {
      throw errors.inplacePieceRange(
        0,
        `the torrent's pieces are ${chunkLength} bytes, the install expects ${t.pieceLength}`,
      )
    }
    if (opts.length !== undefined && opts.length !== t.archiveSize) {
      throw errors.inplacePieceRange(0, `the torrent holds ${opts.length} bytes, the index ${t.archiveSize}`)
    }
    this.chunkLength = chunkLength
    this.#target = t
  }

  get length(): number {
    return this.#target.archiveSize
  }

  put(index: number, buf: Buffer | Uint8Array, cb?: Cb): void {
    if (this.#closed) {
      done(Promise.reject(errors.inplaceClosed('closed')), cb)
      return
    }
    const b = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength)
    done(this.#target.writePiece(index, b), cb)
  }

  get(index: number, opts?: GetOpts | Cb<Buffer>, cb?: Cb<Buffer>): void {
    if (typeof opts === 'function') {
      this.get(index, undefined, opts)
      return
    }
    if (this.#closed) {
      done(Promise.reject(errors.inplaceClosed('closed')), cb)
      return
    }
    done((async () => this.#target.readPiece(index, opts?.offset ?? 0, opts?.length ?? undefined))(), cb)
  }

  /** Saves the resume state and closes the target's files; the installed tree stays. */
  close(cb?: Cb): void {
    this.#closed = true
    done(this.#target.close(), cb)
  }

  /** Same as close: the installed tree is never deleted by the torrent library. */
  destroy(cb?: Cb): void {
    this.close(cb)
  }
}
