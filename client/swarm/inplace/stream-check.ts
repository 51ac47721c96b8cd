// The whole-archive check (SHA-256 and every header against the index) run
// while the pieces arrive, instead of reading the whole archive back after
// the last one. The archive is fed to checkArchiveAgainstIndex in order:
// - a piece written at the front of the checked prefix is fed from the very
//   buffer that was just written into the files (pwrite copied exactly those
//   bytes; the store owns the buffer from put() on and nothing changes it);
// - a piece written ahead of the prefix is kept, up to a memory budget, until
//   the prefix reaches it; beyond the budget it is dropped and, like every
//   piece that was already on disk at start (resume), read back from the
//   files when its turn comes.
// docs/in-place-extraction.md, "Verification while downloading", says why
// this proves the same thing as the read-back.
import { errors } from '../../../common/errors.ts'
import type { IndexTable } from '../../../common/tarindex/table.ts'
import { type ArchiveCheck, checkArchiveAgainstIndex } from './check.ts'

export interface CheckSource {
  pieceCount: number
  hasPiece(piece: number): boolean
  /** The piece's bytes rebuilt from the tree (it is written). */
  readPiece(piece: number): Promise<Buffer>
}

export interface StreamCheckStats {
  /** Pieces fed from the buffer that was written. */
  fromMemory: number
  /** Pieces read back from the tree. */
  readBack: number
}

export class StreamCheck {
  readonly #src: CheckSource
  readonly #budget: number
  readonly #held = new Map<number, Buffer>()
  #heldBytes = 0
  #next = 0
  #wake: (() => void) | undefined
  #cancelled: Error | undefined
  readonly stats: StreamCheckStats = { fromMemory: 0, readBack: 0 }
  /** Settles when the whole archive was checked (or the check failed or was cancelled). */
  readonly done: Promise<ArchiveCheck>

  constructor(src: CheckSource, table: IndexTable, budgetBytes: number) {
    this.#src = src
    this.#budget = budgetBytes
    this.done = checkArchiveAgainstIndex(this.#source(), table)
    this.done.catch(() => undefined)
  }

  /** Piece `piece` was just written from `buf`. */
  written(piece: number, buf: Buffer): void {
    if (this.#cancelled || piece < this.#next) return
    if (this.#heldBytes + buf.length > this.#budget) {
      // Keep the pieces nearest the prefix: drop the farthest one held if this one is nearer.
      let far = -1
      for (const k of this.#held.keys()) if (k > far) far = k
      if (far <= piece) {
        this.#poke()
        return
      }
      this.#heldBytes -= (this.#held.get(far) as Buffer).length
      this.#held.delete(far)
    }
    this.#held.set(piece, buf)
    this.#heldBytes += buf.length
    this.#poke()
  }

  /** Stops the check (the download failed); `done` rejects. */
  cancel(why = errors.inplaceClosed('stopped before the archive was checked')): void {
    this.#cancelled ??= why
    this.#held.clear()
    this.#heldBytes = 0
    this.#poke()
  }

  #poke(): void {
    const w = this.#wake
    this.#wake = undefined
    w?.()
  }

  async *#source(): AsyncGenerator<Buffer> {
    const src = this.#src
    while (this.#next < src.pieceCount) {
      if (this.#cancelled) throw this.#cancelled
      const i = this.#next
      if (!src.hasPiece(i)) {
        await new Promise<void>((r) => {
          this.#wake = r
        })
        continue
      }
      let buf = this.#held.get(i)
      if (buf) {
        this.#held.delete(i)
        this.#heldBytes -= buf.length
        this.stats.fromMemory++
      } else {
        buf = await src.readPiece(i)
        this.stats.readBack++
      }
      this.#next = i + 1
      yield buf
    }
  }
}
