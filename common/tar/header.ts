// ustar header blocks and pax extended headers: encoding for the packer,
// decoding for the reader. Paths are Buffers: Linux file names are bytes and
// need not be valid UTF-8.
import { OCTAL_MAX, PAX_XATTR_PREFIX, TAR_BLOCK, TYPEFLAG, USTAR } from '../constants.ts'

export type EntryType = 'file' | 'link' | 'symlink' | 'char' | 'block' | 'directory' | 'fifo'

export interface SparseSegment {
  offset: number
  size: number
}

export interface TarEntry {
  /** Path as stored, e.g. `./etc/passwd`; directories end with `/`. */
  path: Buffer
  type: EntryType
  /** Full mode bits, setuid/setgid/sticky included (no file-type bits). */
  mode: number
  uid: number
  gid: number
  /** Bytes of data that follow the header in the archive. */
  size: number
  /** Seconds since the epoch. */
  mtime: number
  /** Symlink target or hard-link target path; empty otherwise. */
  linkpath: Buffer
  devmajor: number
  devminor: number
  /** Extended attributes, name -> raw value. */
  xattrs: Map<string, Buffer>
  /** For sparse files (GNU 1.0): the logical size and the data map. */
  sparse?: { realsize: number; map: SparseSegment[] }
}

const TYPE_TO_FLAG: Record<EntryType, number> = {
  file: TYPEFLAG.file,
  link: TYPEFLAG.link,
  symlink: TYPEFLAG.symlink,
  char: TYPEFLAG.char,
  block: TYPEFLAG.block,
  directory: TYPEFLAG.directory,
  fifo: TYPEFLAG.fifo,
}

export function flagToType(flag: number): EntryType | undefined {
  switch (flag) {
    case TYPEFLAG.file:
    case TYPEFLAG.fileOld:
    case TYPEFLAG.contiguous:
      return 'file'
    case TYPEFLAG.link:
      return 'link'
    case TYPEFLAG.symlink:
      return 'symlink'
    case TYPEFLAG.char:
      return 'char'
    case TYPEFLAG.block:
      return 'block'
    case TYPEFLAG.directory:
      return 'directory'
    case TYPEFLAG.fifo:
      return 'fifo'
    default:
      return undefined
  }
}

// ---------- numeric fields ----------

function writeOctal(block: Buffer, [off, len]: readonly [number, number], value: number): void {
  const digits = value.toString(8).padStart(len - 1, '0')
  block.write(digits, off, len - 1, 'latin1')
  block[off + len - 1] = 0
}

/** Reads an octal field, or a GNU base-256 one (high bit of the first byte set). */
export function readNumeric(block: Buffer, [off, len]: readonly [number, number]): number | undefined {
  const field = block.subarray(off, off + len)
  const first = field[0] ?? 0
  if (first & 0x80) {
    if (first === 0xff) return undefined // negative base-256: not meaningful for us
    let v = BigInt(first & 0x7f)
    for (let i = 1; i < field.length; i++) v = (v << 8n) | BigInt(field[i] ?? 0)
    return v > BigInt(Number.MAX_SAFE_INTEGER) ? undefined : Number(v)
  }
  let s = 0
  let e = field.length
  while (s < e && (field[s] === 0x20 || field[s] === 0)) s++
  // Trailing NULs and spaces end the number.
  let end = s
  while (end < e && field[end] !== 0 && field[end] !== 0x20) end++
  e = end
  if (s === e) return 0
  let v = 0
  for (let i = s; i < e; i++) {
    const c = field[i] ?? 0
    if (c < 0x30 || c > 0x37) return undefined
    v = v * 8 + (c - 0x30)
  }
  return Number.isSafeInteger(v) ? v : undefined
}

function checksum(block: Buffer): number {
  let sum = 0
  for (let i = 0; i < TAR_BLOCK; i++) {
    sum += i >= USTAR.chksum[0] && i < USTAR.chksum[0] + USTAR.chksum[1] ? 0x20 : (block[i] ?? 0)
  }
  return sum
}

// ---------- pax records ----------

/** One pax record: "LEN key=value\n", LEN counting the whole record. */
function paxRecord(key: string, value: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`, 'utf8'), value, Buffer.from('\n')])
  let len = body.length + 1
  while (String(len).length + body.length !== len) len = String(len).length + body.length
  return Buffer.concat([Buffer.from(String(len), 'latin1'), body])
}

export function encodePaxRecords(records: [string, Buffer][]): Buffer {
  return Buffer.concat(records.map(([k, v]) => paxRecord(k, v)))
}

/** Parses pax records; values stay raw bytes (xattr values are binary). */
export function decodePaxRecords(data: Buffer): Map<string, Buffer> | string {
  const out = new Map<string, Buffer>()
  let pos = 0
  while (pos < data.length) {
    if (data[pos] === 0) break // padding
    const sp = data.indexOf(0x20, pos)
    if (sp < 0 || sp - pos > 20) return `bad pax record length at offset ${pos}`
    const lenText = data.toString('latin1', pos, sp)
    if (!/^[1-9][0-9]*$/.test(lenText)) return `bad pax record length ${JSON.stringify(lenText)}`
    const len = Number(lenText)
    const end = pos + len
    if (end > data.length || data[end - 1] !== 0x0a) return `pax record at offset ${pos} overruns its header`
    const eq = data.indexOf(0x3d, sp + 1)
    if (eq < 0 || eq >= end) return `pax record at offset ${pos} has no '='`
    const key = data.toString('utf8', sp + 1, eq)
    out.set(key, Buffer.from(data.subarray(eq + 1, end - 1)))
    pos = end
  }
  return out
}

// ---------- encoding a whole entry header ----------

function blockPad(n: number): number {
  return (TAR_BLOCK - (n % TAR_BLOCK)) % TAR_BLOCK
}

export function paddingFor(size: number): number {
  return blockPad(size)
}

/** A fixed name for pax headers keeps archives byte-identical across hosts. */
const PAX_HEADER_NAME = Buffer.from('././@PaxHeader')

function ustarBlock(e: RawHeader): Buffer {
  const b = Buffer.alloc(TAR_BLOCK)
  e.name.copy(b, USTAR.name[0], 0, Math.min(e.name.length, USTAR.name[1]))
  writeOctal(b, USTAR.mode, e.mode & 0o7777)
  writeOctal(b, USTAR.uid, Math.min(e.uid, OCTAL_MAX[8]))
  writeOctal(b, USTAR.gid, Math.min(e.gid, OCTAL_MAX[8]))
  writeOctal(b, USTAR.size, e.size > OCTAL_MAX[12] ? 0 : e.size)
  writeOctal(b, USTAR.mtime, Math.max(0, Math.min(e.mtime, OCTAL_MAX[12])))
  b[USTAR.typeflag[0]] = e.flag
  e.linkname.copy(b, USTAR.linkname[0], 0, Math.min(e.linkname.length, USTAR.linkname[1]))
  b.write('ustar\x0000', USTAR.magic[0], 8, 'latin1')
  writeOctal(b, USTAR.devmajor, e.devmajor)
  writeOctal(b, USTAR.devminor, e.devminor)
  const sum = checksum(b)
  b.write(`${sum.toString(8).padStart(6, '0')}\x00 `, USTAR.chksum[0], 8, 'latin1')
  return b
}

/**
 * Encodes the header blocks for one entry: a pax header when a field does not
 * fit ustar (long paths, big ids/sizes, xattrs, sparse), then the ustar block.
 * Deterministic: the same entry always gives the same bytes.
 */
export function encodeHeader(e: TarEntry): Buffer {
  const records: [string, Buffer][] = []
  let name = e.path
  let size = e.size
  if (e.sparse) {
    // GNU sparse 1.0: the real name lives in the pax header; the ustar name is
    // a placeholder so that tars without sparse support do not overwrite it.
    records.push(['GNU.sparse.major', Buffer.from('1')])
    records.push(['GNU.sparse.minor', Buffer.from('0')])
    records.push(['GNU.sparse.name', e.path])
    records.push(['GNU.sparse.realsize', Buffer.from(String(e.sparse.realsize))])
    const slash = e.path.lastIndexOf(0x2f)
    const dir = slash >= 0 ? e.path.subarray(0, slash + 1) : Buffer.alloc(0)
    const base = e.path.subarray(slash + 1)
    name = Buffer.concat([dir, Buffer.from('GNUSparseFile.0/'), base])
  }
  if (name.length > USTAR.name[1]) records.push(['path', name])
  if (e.linkpath.length > USTAR.linkname[1]) records.push(['linkpath', e.linkpath])
  if (e.uid > OCTAL_MAX[8]) records.push(['uid', Buffer.from(String(e.uid))])
  if (e.gid > OCTAL_MAX[8]) records.push(['gid', Buffer.from(String(e.gid))])
  if (size > OCTAL_MAX[12]) records.push(['size', Buffer.from(String(size))])
  if (e.mtime < 0 || e.mtime > OCTAL_MAX[12]) records.push(['mtime', Buffer.from(String(e.mtime))])
  const xattrNames = [...e.xattrs.keys()].sort()
  for (const k of xattrNames) records.push([PAX_XATTR_PREFIX + k, e.xattrs.get(k) as Buffer])

  const main = ustarBlock({
    name,
    flag: TYPE_TO_FLAG[e.type],
    mode: e.mode,
    uid: e.uid,
    gid: e.gid,
    size,
    mtime: e.mtime,
    linkname: e.linkpath,
    devmajor: e.devmajor,
    devminor: e.devminor,
  })
  if (records.length === 0) return main
  const pax = encodePaxRecords(records)
  const paxHead = ustarBlock({
    name: PAX_HEADER_NAME,
    flag: TYPEFLAG.paxLocal,
    mode: 0o644,
    uid: 0,
    gid: 0,
    size: pax.length,
    mtime: Math.max(0, Math.min(e.mtime, OCTAL_MAX[12])),
    linkname: Buffer.alloc(0),
    devmajor: 0,
    devminor: 0,
  })
  size = 0
  return Buffer.concat([paxHead, pax, Buffer.alloc(blockPad(pax.length)), main])
}

/** The end-of-archive marker: two zero blocks. */
export const END_OF_ARCHIVE = Buffer.alloc(TAR_BLOCK * 2)

// ---------- decoding one ustar block ----------

export interface RawHeader {
  name: Buffer
  flag: number
  mode: number
  uid: number
  gid: number
  size: number
  mtime: number
  linkname: Buffer
  devmajor: number
  devminor: number
}

function cString(b: Buffer, [off, len]: readonly [number, number]): Buffer {
  const f = b.subarray(off, off + len)
  const nul = f.indexOf(0)
  return Buffer.from(nul >= 0 ? f.subarray(0, nul) : f)
}

export function isZeroBlock(b: Buffer): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false
  return true
}

/** Decodes a 512-byte header block; returns a string describing the defect if it is invalid. */
export function decodeBlock(b: Buffer): RawHeader | string {
  const stored = readNumeric(b, USTAR.chksum)
  if (stored === undefined || stored !== checksum(b)) return 'header checksum mismatch (not a tar archive, or damaged)'
  const fields = ['mode', 'uid', 'gid', 'size', 'mtime', 'devmajor', 'devminor'] as const
  const nums: Partial<Record<(typeof fields)[number], number>> = {}
  for (const f of fields) {
    const v = readNumeric(b, USTAR[f])
    if (v === undefined) return `header field ${f} is not a valid number`
    nums[f] = v
  }
  let name = cString(b, USTAR.name)
  // Only POSIX ustar ("ustar\0") has a prefix field; old GNU ("ustar  ") keeps
  // atime/ctime there, which must not become part of the path.
  const magic = b.toString('latin1', USTAR.magic[0], USTAR.magic[0] + USTAR.magic[1])
  if (magic === 'ustar\0') {
    const prefix = cString(b, USTAR.prefix)
    if (prefix.length > 0) name = Buffer.concat([prefix, Buffer.from('/'), name])
  }
  return {
    name,
    flag: b[USTAR.typeflag[0]] ?? 0,
    mode: (nums.mode ?? 0) & 0o7777,
    uid: nums.uid ?? 0,
    gid: nums.gid ?? 0,
    size: nums.size ?? 0,
    mtime: nums.mtime ?? 0,
    linkname: cString(b, USTAR.linkname),
    devmajor: nums.devmajor ?? 0,
    devminor: nums.devminor ?? 0,
  }
}
