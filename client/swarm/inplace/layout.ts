// Where every byte of the archive goes: a sorted list of runs, each either a
// file extent (archive bytes that are a regular file's data) or a stretch of
// the side file (headers, pax records, sparse maps, padding, end blocks).
// Built once from the index and checked as it is built, so that no later
// write can land outside a file's logical size or outside the side file.
import { TAR_BLOCK } from '../../../common/constants.ts'
import { errors } from '../../../common/errors.ts'
import { quotePath } from '../../../common/paths.ts'
import type { IndexTable } from '../../../common/tarindex/table.ts'

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

  private constructor(index: IndexTable, runs: number) {
    this.archiveSize = index.archiveSize
    this.#start = new Float64Array(runs)
    this.#len = new Float64Array(runs)
    this.#entry = new Int32Array(runs)
    this.#at = new Float64Array(runs)
    this.fileTotal = new Float64Array(index.length)
  }

  /** Bytes of the side file: the archive bytes that belong to no file. */
  get sideSize(): number {
    return this.#side
  }

  /** Checks the index's offsets and builds the runs. */
  static build(index: IndexTable): Layout {
    const size = index.archiveSize
    const bad = (where: string, detail: string) => errors.inplaceIndex(where, detail)
    if (!Number.isSafeInteger(size) || size < 2 * TAR_BLOCK || size % TAR_BLOCK !== 0) {
      throw bad('archive', `size ${size} is not a whole number of tar blocks`)
    }
    let runs = 0
    let prevHeader = -1
    for (let i = 0; i < index.length; i++) {
      const where = () => `entry ${i} ${quotePath(index.path(i))}`
      const header = index.headerOffset(i)
      const esize = index.size(i)
      const type = index.type(i)
      const next = i + 1 < index.length ? index.headerOffset(i + 1) : size
      if (!Number.isSafeInteger(header) || header <= prevHeader || header % TAR_BLOCK !== 0) {
        throw bad(where(), `header offset ${header} is not after the previous entry on a block boundary`)
      }
      if (next > size) throw bad(where(), 'the entry ends after the archive')
      prevHeader = header
      if (!Number.isSafeInteger(esize) || esize < 0) throw bad(where(), `size ${esize} out of range`)
      const { first, end } = index.extentRows(i)
      if (type !== 'file' && (end > first || esize !== 0)) {
        throw bad(where(), `a ${type} entry has data extents or a size`)
      }
      let archEnd = header + TAR_BLOCK
      let fileEnd = 0
      for (let r = first; r < end; r++) {
        const a = index.extentArchiveOffset(r)
        const l = index.extentLength(r)
        const o = index.extentFileOffset(r)
        const ints = [a, l, o].every(Number.isSafeInteger)
        if (!ints || l <= 0 || a < archEnd || a + l > next) {
          throw bad(where(), `extent at archive byte ${a} lies outside the entry's data`)
        }
        if (o < fileEnd || o + l > esize) {
          throw bad(where(), `extent at file byte ${o} overlaps another or passes the file size ${esize}`)
        }
        runs += a > archEnd ? 2 : 1
        archEnd = a + l
        fileEnd = o + l
      }
      runs += 1 // the gap before the next entry (or a header-only entry)
    }
    const layout = new Layout(index, runs + 1)
    layout.#fill(index)
    return layout
  }

  #fill(index: IndexTable): void {
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
    for (let i = 0; i < index.length; i++) {
      const { first, end } = index.extentRows(i)
      for (let r = first; r < end; r++) {
        const a = index.extentArchiveOffset(r)
        const l = index.extentLength(r)
        add(pos, a - pos, SIDE, side)
        side += a - pos
        add(a, l, i, index.extentFileOffset(r))
        pos = a + l
        this.fileTotal[i] = (this.fileTotal[i] ?? 0) + l
      }
    }
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
