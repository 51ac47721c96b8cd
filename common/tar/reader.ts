// Streaming tar reader: ustar, pax (local and global), GNU long names and GNU
// sparse 1.0. Strict: every header is checksummed, every extended header is
// size-capped, and anything it does not understand is an error, not a guess.
import { GNU_SPARSE, PAX_XATTR_PREFIX, TAR_BLOCK, TYPEFLAG } from '../constants.ts'
import { errors } from '../errors.ts'
import { quotePath } from '../paths.ts'
import { ByteSource } from './bytes.ts'
import {
  decodeBlock,
  decodePaxRecords,
  flagToType,
  isZeroBlock,
  paddingFor,
  type SparseSegment,
  type TarEntry,
} from './header.ts'

export interface ReaderLimits {
  /** Largest pax or GNU long-name header accepted, in bytes. */
  maxExtendedHeader: number
  /** Most segments a sparse map may have. */
  maxSparseSegments: number
}

export const DEFAULT_LIMITS: ReaderLimits = {
  maxExtendedHeader: 1 << 20,
  maxSparseSegments: 1 << 20,
}

export interface ReadEntry extends TarEntry {
  /** Archive offset of the entry's first header block (pax header included). */
  headerOffset: number
  /** Archive offset of the first data byte (after any sparse map). */
  dataOffset: number
}

function show(path: Buffer): string {
  return quotePath(path)
}

export class TarReader {
  readonly #src: ByteSource
  readonly #limits: ReaderLimits
  #remaining = 0 // data bytes of the current entry not yet consumed
  #padding = 0

  constructor(source: AsyncIterable<Buffer | Uint8Array>, limits: Partial<ReaderLimits> = {}) {
    this.#src = new ByteSource(source)
    this.#limits = { ...DEFAULT_LIMITS, ...limits }
  }

  get offset(): number {
    return this.#src.offset
  }

  async #exact(n: number, what: string): Promise<Buffer> {
    const b = await this.#src.read(n)
    if (b === undefined) throw errors.archiveTruncated(this.#src.offset, `expected ${n} more bytes of ${what}`)
    return b
  }

  async #skipRest(): Promise<void> {
    let left = this.#remaining + this.#padding
    while (left > 0) {
      const b = await this.#src.readSome(Math.min(left, 1 << 20))
      if (b === undefined) throw errors.archiveTruncated(this.#src.offset, 'entry data cut short')
      left -= b.length
    }
    this.#remaining = 0
    this.#padding = 0
  }

  /** The current entry's data, in chunks. Reading is optional; next() skips what is left. */
  async *data(): AsyncGenerator<Buffer> {
    while (this.#remaining > 0) {
      const b = await this.#src.readSome(Math.min(this.#remaining, 1 << 20))
      if (b === undefined) throw errors.archiveTruncated(this.#src.offset, 'entry data cut short')
      this.#remaining -= b.length
      yield b
    }
  }

  async #extended(size: number, entryHint: string): Promise<Buffer> {
    if (size > this.#limits.maxExtendedHeader) {
      throw errors.headerTooLarge(entryHint, size, this.#limits.maxExtendedHeader)
    }
    const body = await this.#exact(size, 'an extended header')
    await this.#exact(paddingFor(size), 'header padding')
    return body
  }

  /** The next entry, or undefined at the end-of-archive marker. */
  async next(): Promise<ReadEntry | undefined> {
    await this.#skipRest()
    const headerOffset = this.#src.offset
    let pax: Map<string, Buffer> | undefined
    let longName: Buffer | undefined
    let longLink: Buffer | undefined
    for (;;) {
      const at = this.#src.offset
      const block = await this.#src.read(TAR_BLOCK)
      if (block === undefined) {
        throw errors.archiveTruncated(at, 'no end-of-archive marker (the archive is incomplete)')
      }
      if (isZeroBlock(block)) {
        if (pax || longName || longLink) throw errors.archiveCorrupt(at, 'extended header with no entry after it')
        // End of archive: one or more zero blocks; anything but zeros after it is garbage.
        if (!(await this.#src.restIsZero())) throw errors.archiveCorrupt(at, 'data after the end-of-archive marker')
        return undefined
      }
      const h = decodeBlock(block)
      if (typeof h === 'string') throw errors.archiveCorrupt(at, h)
      const hint = show(longName ?? pax?.get('path') ?? h.name)
      if (h.flag === TYPEFLAG.paxLocal) {
        if (pax) throw errors.archiveCorrupt(at, 'two pax headers for one entry')
        const recs = decodePaxRecords(await this.#extended(h.size, hint))
        if (typeof recs === 'string') throw errors.archiveCorrupt(at, recs)
        pax = recs
        continue
      }
      if (h.flag === TYPEFLAG.paxGlobal) {
        // Global headers set defaults for later entries; ours never write one
        // and honouring them would let one header re-path every entry.
        const recs = decodePaxRecords(await this.#extended(h.size, 'pax global header'))
        if (typeof recs === 'string') throw errors.archiveCorrupt(at, recs)
        if (recs.size > 0) throw errors.unsupportedEntry('pax global header', 'global pax headers are not supported')
        continue
      }
      if (h.flag === TYPEFLAG.gnuLongName || h.flag === TYPEFLAG.gnuLongLink) {
        const body = await this.#extended(h.size, hint)
        const nul = body.indexOf(0)
        const value = Buffer.from(nul >= 0 ? body.subarray(0, nul) : body)
        if (h.flag === TYPEFLAG.gnuLongName) longName = value
        else longLink = value
        continue
      }
      const type = flagToType(h.flag)
      if (type === undefined) {
        const why =
          h.flag === TYPEFLAG.gnuSparseOld
            ? 'old GNU sparse format is not supported (re-create the archive with --format=pax)'
            : `unsupported entry type ${JSON.stringify(String.fromCharCode(h.flag))}`
        throw errors.unsupportedEntry(hint, why)
      }
      return this.#finish(h, type, pax, longName, longLink, headerOffset)
    }
  }

  async #finish(
    h: Exclude<ReturnType<typeof decodeBlock>, string>,
    type: ReadEntry['type'],
    pax: Map<string, Buffer> | undefined,
    longName: Buffer | undefined,
    longLink: Buffer | undefined,
    headerOffset: number,
  ): Promise<ReadEntry> {
    const num = (key: string, fallback: number): number => {
      const v = pax?.get(key)
      if (v === undefined) return fallback
      const s = v.toString('latin1')
      // pax times may carry a fraction; we keep whole seconds.
      const m = /^(-?[0-9]{1,16})(\.[0-9]+)?$/.exec(s)
      if (!m || (key !== 'mtime' && s.startsWith('-'))) {
        throw errors.archiveCorrupt(headerOffset, `pax ${key}=${JSON.stringify(s)} is not a valid number`)
      }
      const n = Number(m[1])
      if (!Number.isSafeInteger(n)) throw errors.archiveCorrupt(headerOffset, `pax ${key} out of range`)
      return n
    }
    let path = pax?.get('path') ?? longName ?? h.name
    const linkpath = pax?.get('linkpath') ?? longLink ?? h.linkname
    const size = type === 'file' ? num('size', h.size) : type === 'link' || type === 'symlink' ? 0 : h.size
    const xattrs = new Map<string, Buffer>()
    if (pax) {
      for (const [k, v] of pax) {
        if (k.startsWith(PAX_XATTR_PREFIX)) xattrs.set(k.slice(PAX_XATTR_PREFIX.length), v)
      }
    }
    const entry: ReadEntry = {
      path,
      type,
      mode: h.mode,
      uid: num('uid', h.uid),
      gid: num('gid', h.gid),
      size,
      mtime: num('mtime', h.mtime),
      linkpath,
      devmajor: h.devmajor,
      devminor: h.devminor,
      xattrs,
      headerOffset,
      dataOffset: this.#src.offset,
    }
    // Entries whose header size field does not describe data (dirs, devices)
    // still carry those bytes in the stream if the field is non-zero.
    if ((type === 'link' || type === 'symlink') && h.size > 0) {
      // GNU tar would read these bytes as data, we would skip them: refuse
      // rather than see a different list of entries than other tools.
      throw errors.archiveCorrupt(headerOffset, `${type} entry ${show(path)} carries ${h.size} bytes of data`)
    }
    this.#remaining = h.size > 0 && type !== 'file' ? h.size : size
    this.#padding = paddingFor(this.#remaining)
    if (pax?.has(GNU_SPARSE.major) || pax?.has('GNU.sparse.size') || pax?.has('GNU.sparse.numblocks')) {
      const major = pax.get(GNU_SPARSE.major)?.toString('latin1')
      const minor = pax.get(GNU_SPARSE.minor)?.toString('latin1')
      if (major !== '1' || minor !== '0' || type !== 'file') {
        throw errors.unsupportedEntry(
          show(path),
          `GNU sparse format ${major ?? '0'}.${minor ?? '?'} is not supported (only 1.0)`,
        )
      }
      const name = pax.get(GNU_SPARSE.name)
      if (name === undefined) throw errors.archiveCorrupt(headerOffset, 'sparse entry without GNU.sparse.name')
      path = name
      entry.path = name
      const realsize = num(GNU_SPARSE.realsize, -1)
      if (realsize < 0) throw errors.archiveCorrupt(headerOffset, 'sparse entry without GNU.sparse.realsize')
      const map = await this.#sparseMap(show(path), realsize)
      entry.sparse = { realsize, map }
      entry.size = this.#remaining
      entry.dataOffset = this.#src.offset
      const total = map.reduce((a, s) => a + s.size, 0)
      if (total !== this.#remaining) {
        throw errors.archiveCorrupt(
          headerOffset,
          `sparse map of ${show(path)} covers ${total} bytes, entry holds ${this.#remaining}`,
        )
      }
    }
    return entry
  }

  /** Reads a GNU sparse 1.0 map (decimal numbers, one per line, block-padded) from the data. */
  async #sparseMap(name: string, realsize: number): Promise<SparseSegment[]> {
    const numbers: number[] = []
    let want = -1
    let text = ''
    while (want < 0 || numbers.length < want) {
      if (this.#remaining < TAR_BLOCK)
        throw errors.archiveCorrupt(this.#src.offset, `sparse map of ${name} is cut short`)
      const block = await this.#exact(TAR_BLOCK, 'a sparse map')
      this.#remaining -= TAR_BLOCK
      text += block.toString('latin1')
      const lines = text.split('\n')
      text = lines.pop() ?? ''
      for (const line of lines) {
        if (want >= 0 && numbers.length >= want) break
        if (!/^[0-9]{1,16}$/.test(line))
          throw errors.archiveCorrupt(this.#src.offset, `bad number in sparse map of ${name}`)
        const n = Number(line)
        if (want < 0) {
          if (n > this.#limits.maxSparseSegments) {
            throw errors.headerTooLarge(name, n, this.#limits.maxSparseSegments)
          }
          want = n * 2
        } else numbers.push(n)
      }
      const complete = want >= 0 && numbers.length >= want
      if (!complete && text.length > 32) throw errors.archiveCorrupt(this.#src.offset, `bad sparse map of ${name}`)
    }
    this.#padding = paddingFor(this.#remaining)
    const map: SparseSegment[] = []
    let end = 0
    for (let i = 0; i < numbers.length; i += 2) {
      const offset = numbers[i] as number
      const size = numbers[i + 1] as number
      if (offset < end || offset + size > realsize) {
        throw errors.archiveCorrupt(this.#src.offset, `sparse map of ${name} has overlapping or out-of-range segments`)
      }
      end = offset + size
      map.push({ offset, size })
    }
    return map
  }

  async close(): Promise<void> {
    await this.#src.close()
  }
}
