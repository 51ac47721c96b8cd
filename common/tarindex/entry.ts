// One index line's JSON into an IndexEntry, field by field. The index runs
// as root on the node, so every field is checked for type and range here;
// what needs other entries (order, paths, links) is checked in rules.ts.
import { badXattr } from '../archive/fsops.ts'
import { PATH_MAX } from '../constants.ts'
import type { EntryType } from '../tar/header.ts'
import type { Extent, IndexEntry } from './types.ts'

export const ENTRY_TYPES: readonly EntryType[] = ['file', 'link', 'symlink', 'char', 'block', 'directory', 'fifo']
/** Most extents one file may have. */
export const MAX_EXTENTS = 1_000_000
const KEYS = ['h', 't', 'p', 'm', 'u', 'g', 'mt', 's', 'l', 'd', 'x', 'e']
const REQUIRED = ['h', 't', 'p', 'm', 'u', 'g', 'mt', 's']
/** (uid_t)-1 means "leave unchanged" to chown: never a real owner. */
const ID_MAX = 0xfffffffe
const DEV_MAX = 0xffffffff
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/

/** (field, detail): the caller adds which entry. */
export type Fail = (field: string, detail: string) => never

function int(v: unknown, field: string, min: number, max: number, fail: Fail): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
    fail(field, `must be an integer from ${min} to ${max}`)
  }
  return v
}

function bytes(v: unknown, field: string, fail: Fail): Buffer {
  // Unused bits in the last character are caught by parse.ts's canonical-form check.
  if (typeof v !== 'string' || v.length % 4 !== 0 || !BASE64.test(v)) fail(field, 'must be base64')
  return Buffer.from(v, 'base64')
}

function extents(v: unknown, e: IndexEntry, archiveSize: number, maxExtents: number, fail: Fail): Extent[] {
  if (e.type !== 'file') fail('e', `only regular files have extents (this is a ${e.type})`)
  if (!Array.isArray(v) || v.length === 0) fail('e', 'must be a non-empty array (leave it out when there are none)')
  if (v.length > maxExtents) fail('e', `more than ${maxExtents} extents`)
  const out: Extent[] = []
  let archiveEnd = e.headerOffset + 512
  let fileEnd = 0
  for (let i = 0; i < v.length; i++) {
    const x = v[i] as unknown
    const f = `e[${i}]`
    if (!Array.isArray(x) || x.length !== 3) fail(f, 'must be [archiveOffset, length, fileOffset]')
    const [a, l, o] = [
      int(x[0], `${f}[0]`, 0, archiveSize, fail),
      int(x[1], `${f}[1]`, 1, archiveSize, fail),
      int(x[2], `${f}[2]`, 0, Number.MAX_SAFE_INTEGER, fail),
    ]
    if (a < archiveEnd) {
      fail(f, i === 0 ? 'starts inside the entry header' : 'overlaps or precedes the extent before it in the archive')
    }
    if (a + l > archiveSize) fail(f, `ends at ${a + l}, past the archive's ${archiveSize} bytes`)
    if (o < fileEnd) fail(f, 'overlaps or precedes the extent before it in the file')
    if (o + l > e.size) fail(f, `ends at file offset ${o + l}, past the file size ${e.size}`)
    archiveEnd = a + l
    fileEnd = o + l
    out.push({ archiveOffset: a, length: l, fileOffset: o })
  }
  return out
}

function xattrs(v: unknown, fail: Fail): Map<string, Buffer> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail('x', 'must be an object of name: base64 value')
  const out = new Map<string, Buffer>()
  for (const [name, raw] of Object.entries(v)) {
    const value = bytes(raw, `x[${JSON.stringify(name.slice(0, 100))}]`, fail)
    const why = badXattr(name, value)
    if (why !== undefined) fail('x', why)
    out.set(name, value)
  }
  if (out.size === 0) fail('x', 'must not be empty (leave it out when there are none)')
  return out
}

/** Decodes and range-checks one entry; the path is checked by the caller (it needs the other entries). */
export function decodeEntry(v: unknown, archiveSize: number, maxExtents: number, fail: Fail): IndexEntry {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail('entry', 'must be a JSON object')
  const o = v as Record<string, unknown>
  for (const k of Object.keys(o)) if (!KEYS.includes(k)) fail(k, 'unknown field')
  for (const k of REQUIRED) if (!Object.hasOwn(o, k)) fail(k, 'missing')
  const type = o.t as EntryType
  if (!ENTRY_TYPES.includes(type)) fail('t', `must be one of ${ENTRY_TYPES.join(', ')}`)
  const headerOffset = int(o.h, 'h', 0, archiveSize - 512, fail)
  if (headerOffset % 512 !== 0) fail('h', 'must be a multiple of 512')
  const e: IndexEntry = {
    headerOffset,
    type,
    path: bytes(o.p, 'p', fail),
    mode: int(o.m, 'm', 0, 0o7777, fail),
    uid: int(o.u, 'u', 0, ID_MAX, fail),
    gid: int(o.g, 'g', 0, ID_MAX, fail),
    mtime: int(o.mt, 'mt', Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, fail),
    size: int(o.s, 's', 0, Number.MAX_SAFE_INTEGER, fail),
    linkpath: Buffer.alloc(0),
    devmajor: 0,
    devminor: 0,
    xattrs: new Map(),
    extents: [],
  }
  if (type !== 'file' && e.size !== 0) fail('s', `must be 0 for a ${type}`)
  const linked = type === 'link' || type === 'symlink'
  if (linked !== Object.hasOwn(o, 'l'))
    fail('l', linked ? `missing (a ${type} needs its target)` : `not allowed for a ${type}`)
  if (linked) {
    e.linkpath = bytes(o.l, 'l', fail)
    if (e.linkpath.length === 0) fail('l', 'must not be empty')
    if (e.linkpath.length > PATH_MAX) fail('l', `target of ${e.linkpath.length} bytes exceeds ${PATH_MAX}`)
    if (e.linkpath.includes(0)) fail('l', 'target contains a NUL byte')
  }
  const device = type === 'char' || type === 'block'
  if (device !== Object.hasOwn(o, 'd'))
    fail('d', device ? 'missing (a device needs [major, minor])' : `not allowed for a ${type}`)
  if (device) {
    if (!Array.isArray(o.d) || o.d.length !== 2) fail('d', 'must be [major, minor]')
    e.devmajor = int(o.d[0], 'd[0]', 0, DEV_MAX, fail)
    e.devminor = int(o.d[1], 'd[1]', 0, DEV_MAX, fail)
  }
  if (Object.hasOwn(o, 'x')) e.xattrs = xattrs(o.x, fail)
  if (Object.hasOwn(o, 'e')) e.extents = extents(o.e, e, archiveSize, maxExtents, fail)
  return e
}
