// Reads an index file as hostile input: it runs as root on the node, so a
// signature is not taken as proof that its contents are sane. The file is
// taken apart line by line (it is never one huge string), each line must be
// exactly what encodeIndex writes for the entry it decodes to, and every rule
// of docs/archive-index.md is checked. Any refusal is IMGSWARM_ERR_INDEX_INVALID
// naming the entry and the field.
import { errors } from '../errors.ts'
import { quotePath } from '../paths.ts'
import { encodeEntry, INDEX_TAIL, indexHead } from './encode.ts'
import { decodeEntry, type Fail, MAX_EXTENTS } from './entry.ts'
import { IndexRules } from './rules.ts'
import { type ArchiveIndex, INDEX_SCHEMA, type IndexEntry } from './types.ts'

/** Most entries an index may list. */
export const MAX_ENTRIES = 10_000_000
/** Longest entry line: a path and a link target of PATH_MAX, xattrs and a few extents fit in far less. */
const MAX_LINE = 64 << 20

export interface ParseIndexOptions {
  /** The archive's size from the signed manifest: the index must describe exactly that archive. */
  archiveSize: number
  /** Largest index accepted, in bytes. */
  maxBytes: number
  /** Most entries (default MAX_ENTRIES, 10 million); lower only in tests. */
  maxEntries?: number
  /** Most extents of one file (default MAX_EXTENTS, 1 million); lower only in tests. */
  maxExtents?: number
  /**
   * Takes each checked entry instead of the returned `entries` (left empty):
   * the install client packs them into an IndexTable as they come.
   */
  onEntry?: (e: IndexEntry) => void
}

const NL = 0x0a
const COMMA = 0x2c

function failAt(where: string | (() => string)): Fail {
  return (field, detail) => {
    throw errors.indexInvalid(typeof where === 'string' ? where : where(), field, detail)
  }
}

function checkHead(line: Buffer, archiveSize: number): void {
  const fail: Fail = failAt('header')
  if (line.equals(Buffer.from(indexHead(archiveSize)))) return
  const text = line.subarray(0, 200).toString('utf8')
  const m = /^\{"schema":"([^"]*)","archiveSize":(0|[1-9][0-9]{0,15}),"entries":\[$/.exec(text)
  if (m === null) {
    if (!text.startsWith(`{"schema":"${INDEX_SCHEMA}"`)) fail('schema', `must be ${INDEX_SCHEMA}`)
    fail('line', `must be ${indexHead(archiveSize)}`)
  }
  if (m[1] !== INDEX_SCHEMA) fail('schema', `is ${JSON.stringify(m[1])}, expected ${INDEX_SCHEMA}`)
  fail('archiveSize', `is ${m[2]}, but the archive has ${archiveSize} bytes`)
}

export function parseIndex(bytes: Buffer, o: ParseIndexOptions): ArchiveIndex {
  const top: Fail = failAt('index')
  if (!Number.isSafeInteger(o.archiveSize) || o.archiveSize < 0) top('archiveSize', 'expected size is not a count')
  if (bytes.length > o.maxBytes) top('size', `${bytes.length} bytes exceeds the limit of ${o.maxBytes}`)
  let nl = bytes.indexOf(NL)
  if (nl < 0) top('header', 'no line break: not an index file')
  checkHead(bytes.subarray(0, nl), o.archiveSize)
  const rules = new IndexRules(o.archiveSize)
  const maxEntries = Math.min(o.maxEntries ?? MAX_ENTRIES, MAX_ENTRIES)
  const maxExtents = Math.min(o.maxExtents ?? MAX_EXTENTS, MAX_EXTENTS)
  const entries: IndexEntry[] = []
  let count = 0
  let pos = nl + 1
  let more = true // an entry or the tail may come next; after "...,\n" an entry must
  let afterComma = false
  for (;;) {
    nl = bytes.indexOf(NL, pos)
    const where = `entry ${count}`
    if (nl < 0) failAt(where)('line', `the file ends without "${INDEX_TAIL}" and a line break`)
    const line = bytes.subarray(pos, nl)
    if (line.toString('latin1') === INDEX_TAIL) {
      if (afterComma) failAt(where)('line', 'missing after a trailing comma')
      if (nl + 1 !== bytes.length) failAt('index')('end', `bytes after "${INDEX_TAIL}"`)
      break
    }
    if (!more) failAt(where)('line', `expected "${INDEX_TAIL}" after the last entry (no comma)`)
    if (count >= maxEntries) failAt(where)('entries', `more than ${maxEntries} entries`)
    if (line.length > MAX_LINE) failAt(where)('line', `longer than ${MAX_LINE} bytes`)
    afterComma = line[line.length - 1] === COMMA
    more = afterComma
    const body = afterComma ? line.subarray(0, line.length - 1) : line
    const e = entry(body, where, o.archiveSize, maxExtents, rules)
    if (o.onEntry) o.onEntry(e)
    else entries.push(e)
    count++
    pos = nl + 1
  }
  rules.finish(failAt(`entry ${count - 1}`))
  return { archiveSize: o.archiveSize, entries }
}

function entry(body: Buffer, where: string, archiveSize: number, maxExtents: number, rules: IndexRules): IndexEntry {
  const text = body.toString('utf8')
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (err) {
    failAt(where)('line', `not valid JSON (${(err as Error).message.slice(0, 100)})`)
  }
  const e = decodeEntry(json, archiveSize, maxExtents, failAt(where))
  // The path is only shown when something is wrong: quoting it costs more than parsing the line.
  const named = failAt(() => `${where} (${quotePath(e.path)})`)
  rules.add(e, named)
  // One spelling only: key order, numbers, base64 and xattr order exactly as
  // encodeIndex writes them (this also refuses duplicate keys). Bytes that are
  // not UTF-8 decode to U+FFFD, so then the bytes themselves are compared.
  const canonical = encodeEntry(e)
  if (canonical !== text || (text.includes('\uFFFD') && !body.equals(Buffer.from(canonical, 'utf8')))) {
    named('line', 'not in the canonical form (key order, number or base64 spelling, xattr order, duplicate keys)')
  }
  return e
}
