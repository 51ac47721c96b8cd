// The archive index packed into a few typed arrays and one byte blob, for the
// install client: it keeps the index for the whole install, and an image of
// a few GB has 100,000 entries or more. As IndexEntry objects (a Buffer for
// the path and one for the link target, a Map, an array of extent objects)
// that is about 800 bytes per entry, plus the garbage collector's slack;
// here it is the entry's bytes plus about 90 (docs/bench-install.md).
// Entries are read back by number; `entry(i)` rebuilds an IndexEntry for
// the code that wants one (short-lived: the young generation takes it).
import type { EntryType } from '../tar/header.ts'
import { ENTRY_TYPES } from './entry.ts'
import type { ArchiveIndex, Extent, IndexEntry } from './types.ts'

const NO_XATTRS: ReadonlyMap<string, Buffer> = new Map()
const TYPE_CODE = new Map<EntryType, number>(ENTRY_TYPES.map((t, i) => [t, i]))

type Typed = Float64Array | Uint32Array | Uint8Array

function grown<T extends Typed>(a: T, need: number): T {
  if (need <= a.length) return a
  const b = new (a.constructor as new (n: number) => T)(Math.max(need, a.length * 2, 64))
  b.set(a)
  return b
}

function trimmed<T extends Typed>(a: T, n: number): T {
  return a.length === n ? a : (a.slice(0, n) as T)
}

export class IndexTable {
  readonly archiveSize: number
  #n = 0
  #headerOffset = new Float64Array(0)
  #size = new Float64Array(0)
  #mtime = new Float64Array(0)
  #mode = new Uint32Array(0)
  #uid = new Uint32Array(0)
  #gid = new Uint32Array(0)
  #dev = new Uint32Array(0)
  #type = new Uint8Array(0)
  /** Byte ranges in #blob: path i is [#pathAt[i], #linkAt[i]), its link target [#linkAt[i], #pathAt[i + 1]). */
  #pathAt = new Float64Array(1)
  #linkAt = new Float64Array(0)
  #blob = Buffer.alloc(0)
  #blobUsed = 0
  /** Extents of entry i: rows [#extAt[i], #extAt[i + 1]) of the three extent columns. */
  #extAt = new Float64Array(1)
  #xArchive = new Float64Array(0)
  #xLength = new Float64Array(0)
  #xFile = new Float64Array(0)
  #xUsed = 0
  /** Only entries that have xattrs. */
  readonly #xattrs = new Map<number, Map<string, Buffer>>()
  #done = false

  constructor(archiveSize: number) {
    this.archiveSize = archiveSize
  }

  static from(index: ArchiveIndex): IndexTable {
    const t = new IndexTable(index.archiveSize)
    for (const e of index.entries) t.add(e)
    return t.finish()
  }

  get length(): number {
    return this.#n
  }

  /** Appends an entry (before finish()). */
  add(e: IndexEntry): void {
    if (this.#done) throw new Error('IndexTable: add after finish')
    const i = this.#n
    const n = i + 1
    this.#headerOffset = grown(this.#headerOffset, n)
    this.#size = grown(this.#size, n)
    this.#mtime = grown(this.#mtime, n)
    this.#mode = grown(this.#mode, n)
    this.#uid = grown(this.#uid, n)
    this.#gid = grown(this.#gid, n)
    this.#dev = grown(this.#dev, 2 * n)
    this.#type = grown(this.#type, n)
    this.#linkAt = grown(this.#linkAt, n)
    this.#pathAt = grown(this.#pathAt, n + 1)
    this.#extAt = grown(this.#extAt, n + 1)
    this.#headerOffset[i] = e.headerOffset
    this.#size[i] = e.size
    this.#mtime[i] = e.mtime
    this.#mode[i] = e.mode
    this.#uid[i] = e.uid
    this.#gid[i] = e.gid
    this.#dev[2 * i] = e.devmajor
    this.#dev[2 * i + 1] = e.devminor
    this.#type[i] = TYPE_CODE.get(e.type) as number
    const bytes = e.path.length + e.linkpath.length
    if (this.#blobUsed + bytes > this.#blob.length) {
      const b = Buffer.allocUnsafeSlow(Math.max(this.#blobUsed + bytes, this.#blob.length * 2, 4096))
      this.#blob.copy(b, 0, 0, this.#blobUsed)
      this.#blob = b
    }
    e.path.copy(this.#blob, this.#blobUsed)
    this.#linkAt[i] = this.#blobUsed + e.path.length
    e.linkpath.copy(this.#blob, this.#blobUsed + e.path.length)
    this.#blobUsed += bytes
    this.#pathAt[n] = this.#blobUsed
    const x = this.#xUsed + e.extents.length
    this.#xArchive = grown(this.#xArchive, x)
    this.#xLength = grown(this.#xLength, x)
    this.#xFile = grown(this.#xFile, x)
    for (const [k, ext] of e.extents.entries()) {
      this.#xArchive[this.#xUsed + k] = ext.archiveOffset
      this.#xLength[this.#xUsed + k] = ext.length
      this.#xFile[this.#xUsed + k] = ext.fileOffset
    }
    this.#xUsed = x
    this.#extAt[n] = x
    if (e.xattrs.size > 0) this.#xattrs.set(i, new Map(e.xattrs))
    this.#n = n
  }

  /** Drops the spare room left by growing; no more add(). */
  finish(): this {
    const n = this.#n
    this.#headerOffset = trimmed(this.#headerOffset, n)
    this.#size = trimmed(this.#size, n)
    this.#mtime = trimmed(this.#mtime, n)
    this.#mode = trimmed(this.#mode, n)
    this.#uid = trimmed(this.#uid, n)
    this.#gid = trimmed(this.#gid, n)
    this.#dev = trimmed(this.#dev, 2 * n)
    this.#type = trimmed(this.#type, n)
    this.#linkAt = trimmed(this.#linkAt, n)
    this.#pathAt = trimmed(this.#pathAt, n + 1)
    this.#extAt = trimmed(this.#extAt, n + 1)
    this.#xArchive = trimmed(this.#xArchive, this.#xUsed)
    this.#xLength = trimmed(this.#xLength, this.#xUsed)
    this.#xFile = trimmed(this.#xFile, this.#xUsed)
    if (this.#blob.length !== this.#blobUsed) {
      const b = Buffer.allocUnsafeSlow(this.#blobUsed)
      this.#blob.copy(b, 0, 0, this.#blobUsed)
      this.#blob = b
    }
    this.#done = true
    return this
  }

  type(i: number): EntryType {
    return ENTRY_TYPES[this.#type[i] as number] as EntryType
  }
  headerOffset(i: number): number {
    return this.#headerOffset[i] as number
  }
  /** Logical size (files; 0 otherwise). */
  size(i: number): number {
    return this.#size[i] as number
  }
  mode(i: number): number {
    return this.#mode[i] as number
  }
  /** The path as stored (a view: do not change it). */
  path(i: number): Buffer {
    return this.#blob.subarray(this.#pathAt[i] as number, this.#linkAt[i] as number)
  }
  linkpath(i: number): Buffer {
    return this.#blob.subarray(this.#linkAt[i] as number, this.#pathAt[i + 1] as number)
  }
  xattrs(i: number): ReadonlyMap<string, Buffer> {
    return this.#xattrs.get(i) ?? NO_XATTRS
  }
  /** Rows [first, end) of the extent columns belong to entry i. */
  extentRows(i: number): { first: number; end: number } {
    return { first: this.#extAt[i] as number, end: this.#extAt[i + 1] as number }
  }
  extentArchiveOffset(row: number): number {
    return this.#xArchive[row] as number
  }
  extentLength(row: number): number {
    return this.#xLength[row] as number
  }
  extentFileOffset(row: number): number {
    return this.#xFile[row] as number
  }

  /** Entry i as an IndexEntry (path, link target and xattr values are views: do not change them). */
  entry(i: number): IndexEntry {
    const extents: Extent[] = []
    for (let r = this.#extAt[i] as number; r < (this.#extAt[i + 1] as number); r++) {
      extents.push({
        archiveOffset: this.#xArchive[r] as number,
        length: this.#xLength[r] as number,
        fileOffset: this.#xFile[r] as number,
      })
    }
    return {
      headerOffset: this.#headerOffset[i] as number,
      type: this.type(i),
      path: this.path(i),
      mode: this.#mode[i] as number,
      uid: this.#uid[i] as number,
      gid: this.#gid[i] as number,
      mtime: this.#mtime[i] as number,
      size: this.#size[i] as number,
      linkpath: this.linkpath(i),
      devmajor: this.#dev[2 * i] as number,
      devminor: this.#dev[2 * i + 1] as number,
      xattrs: new Map(this.xattrs(i)),
      extents,
    }
  }
}

/** An index in either form, as a table. */
export function asTable(index: ArchiveIndex | IndexTable): IndexTable {
  return index instanceof IndexTable ? index : IndexTable.from(index)
}
