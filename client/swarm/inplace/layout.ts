// Where every byte of the archive goes: a sorted list of runs, each either a
// file extent (archive bytes that are a regular file's data) or a stretch of
// the side file (headers, pax records, sparse maps, padding, end blocks).
// Built once from the index and checked as it is built, so that no later
// write can land outside a file's logical size or outside the side file.
import { TAR_BLOCK } from '../../../common/constants.ts'
import { errors } from '../../../common/errors.ts'
import { quotePath } from '../../../common/paths.ts'
import type { ArchiveIndex } from '../../../common/tarindex/types.ts'

/** A piece of a run overlapping a requested archive range. */
export interface Slice {
  /** Archive offset of the slice. */
  archiveOffset: number
  length: number
  /** Entry index of the file, or -1 for the side file. */
  entry: number
  /** Offset in the file (or in the side file). */
  at: number
}

const SIDE = -1

export class Layout {
  readonly archiveSize: number
  /** Extent bytes per entry (0 for non-files and empty files). */
  readonly fileTotal: Float64Array
  readonly #start: Float64Array
  readonly #len: Float64Array
  readonly #entry: Int32Array
  readonly #at: Float64Array
  #used = 0
  #side = 0

  private constructor(index: ArchiveIndex, runs: number) {
    this.archiveSize = index.archiveSize
    this.#start = new Float64Array(runs)
    this.#len = new Float64Array(runs)
    this.#entry = new Int32Array(runs)
    this.#at = new Float64Array(runs)
    this.fileTotal = new Float64Array(index.entries.length)
  }

  /** Bytes of the side file: the archive bytes that belong to no file. */
  get sideSize(): number {
    return this.#side
  }

  /** Checks the index's offsets and builds the runs. */
  static build(index: ArchiveIndex): Layout {
    const size = index.archiveSize
    const bad = (where: string, detail: string) => errors.inplaceIndex(where, detail)
    if (!Number.isSafeInteger(size) || size < 2 * TAR_BLOCK || size % TAR_BLOCK !== 0) {
      throw bad('archive', `size ${size} is not a whole number of tar blocks`)
    }
    let runs = 0
    let prevHeader = -1
    index.entries.forEach((e, i) => {
      const where = `entry ${i} ${quotePath(e.path)}`
      const next = index.entries[i + 1]?.headerOffset ?? size
      if (!Number.isSafeInteger(e.headerOffset) || e.headerOffset <= prevHeader || e.headerOffset % TAR_BLOCK !== 0) {
        throw bad(where, `header offset ${e.headerOffset} is not after the previous entry on a block boundary`)
      }
      if (next > size) throw bad(where, 'the entry ends after the archive')
      prevHeader = e.headerOffset
      if (!Number.isSafeInteger(e.size) || e.size < 0) throw bad(where, `size ${e.size} out of range`)
      if (e.type !== 'file' && (e.extents.length > 0 || e.size !== 0)) {
        throw bad(where, `a ${e.type} entry has data extents or a size`)
      }
      let archEnd = e.headerOffset + TAR_BLOCK
      let fileEnd = 0
      for (const x of e.extents) {
        const ints = [x.archiveOffset, x.length, x.fileOffset].every(Number.isSafeInteger)
        if (!ints || x.length <= 0 || x.archiveOffset < archEnd || x.archiveOffset + x.length > next) {
          throw bad(where, `extent at archive byte ${x.archiveOffset} lies outside the entry's data`)
        }
        if (x.fileOffset < fileEnd || x.fileOffset + x.length > e.size) {
          throw bad(where, `extent at file byte ${x.fileOffset} overlaps another or passes the file size ${e.size}`)
        }
        runs += x.archiveOffset > archEnd ? 2 : 1
        archEnd = x.archiveOffset + x.length
        fileEnd = x.fileOffset + x.length
      }
      runs += 1 // the gap before the next entry (or a header-only entry)
    })
    const layout = new Layout(index, runs + 1)
    layout.#fill(index)
    return layout
  }

  #fill(index: ArchiveIndex): void {
    let n = 0
    let pos = 0
    let side = 0
    const add = (start: number, len: number, entry: number, at: number) => {
      if (len <= 0) return
      this.#start[n] = start
      this.#len[n] = len
      this.#entry[n] = entry
      this.#at[n] = at
      n++
    }
    index.entries.forEach((e, i) => {
      for (const x of e.extents) {
        add(pos, x.archiveOffset - pos, SIDE, side)
        side += x.archiveOffset - pos
        add(x.archiveOffset, x.length, i, x.fileOffset)
        pos = x.archiveOffset + x.length
        this.fileTotal[i] = (this.fileTotal[i] ?? 0) + x.length
      }
    })
    add(pos, index.archiveSize - pos, SIDE, side)
    side += index.archiveSize - pos
    this.#used = n
    this.#side = side
  }

  /** Index of the run holding archive byte `off` (binary search). */
  #find(off: number): number {
    let lo = 0
    let hi = this.#used - 1
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1
      if ((this.#start[mid] as number) <= off) lo = mid
      else hi = mid - 1
    }
    return lo
  }

  /** The runs covering archive bytes [start, end), cut to that range. */
  *slices(start: number, end: number): Generator<Slice> {
    if (start < 0 || end > this.archiveSize || start > end) throw new RangeError(`bad range ${start}-${end}`)
    for (let r = this.#find(start); r < this.#used && start < end; r++) {
      const rs = this.#start[r] as number
      const rl = this.#len[r] as number
      const skip = start - rs
      const length = Math.min(rs + rl, end) - start
      if (length <= 0) continue
      yield { archiveOffset: start, length, entry: this.#entry[r] as number, at: (this.#at[r] as number) + skip }
      start += length
    }
  }
}
