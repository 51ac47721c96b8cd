// The archive rebuilt from the installed tree is parsed again with the tar
// reader and every header is compared with the index entry the install was
// made from: if the index lied about any entry (its metadata, its place, its
// data extents), the install is refused. Hashes the stream on the way.
import { createHash } from 'node:crypto'
import { errors } from '../../../common/errors.ts'
import { quotePath } from '../../../common/paths.ts'
import { type ReadEntry, TarReader } from '../../../common/tar/reader.ts'
import { extentsOf } from '../../../common/tarindex/index.ts'
import { asTable, type IndexTable } from '../../../common/tarindex/table.ts'
import type { ArchiveIndex, Extent, IndexEntry } from '../../../common/tarindex/types.ts'

export interface ArchiveCheck {
  /** SHA-256 of the whole stream (hex), to compare with the signed manifest. */
  sha256: string
  bytes: number
  entries: number
}

function differences(r: ReadEntry, x: IndexEntry): string | undefined {
  const size = r.type === 'file' ? (r.sparse?.realsize ?? r.size) : 0
  const pairs: [string, unknown, unknown][] = [
    ['header offset', r.headerOffset, x.headerOffset],
    ['type', r.type, x.type],
    ['mode', r.mode, x.mode],
    ['uid', r.uid, x.uid],
    ['gid', r.gid, x.gid],
    ['mtime', r.mtime, x.mtime],
    ['size', size, x.size],
    ['devmajor', r.devmajor, x.devmajor],
    ['devminor', r.devminor, x.devminor],
  ]
  for (const [what, a, b] of pairs)
    if (a !== b) return `${what} is ${String(a)} in the archive, ${String(b)} in the index`
  if (!r.path.equals(x.path)) return `the archive names it ${quotePath(r.path)}`
  if (!r.linkpath.equals(x.linkpath)) return 'link targets differ'
  if (r.xattrs.size !== x.xattrs.size) return 'xattrs differ'
  for (const [k, v] of r.xattrs) if (!x.xattrs.get(k)?.equals(v)) return `xattr ${JSON.stringify(k)} differs`
  const want = extentsOf(r)
  if (want.length !== x.extents.length) return 'data extents differ'
  for (const [i, w] of want.entries()) {
    const g = x.extents[i] as Extent
    if (g.archiveOffset !== w.archiveOffset || g.length !== w.length || g.fileOffset !== w.fileOffset) {
      return `data extent ${i} differs`
    }
  }
  return undefined
}

/** Parses `stream` and throws a coded error at the first entry that does not match the index. */
export async function checkArchiveAgainstIndex(
  stream: AsyncIterable<Buffer>,
  archiveIndex: ArchiveIndex | IndexTable,
  signal?: AbortSignal,
): Promise<ArchiveCheck> {
  const index = asTable(archiveIndex)
  const hash = createHash('sha256')
  let bytes = 0
  const hashed = async function* () {
    for await (const c of stream) {
      signal?.throwIfAborted()
      hash.update(c)
      bytes += c.length
      yield c
    }
  }
  const reader = new TarReader(hashed())
  let n = 0
  try {
    for (let r = await reader.next(); r !== undefined; r = await reader.next()) {
      const x = n < index.length ? index.entry(n) : undefined
      if (!x) throw errors.inplaceArchiveMismatch(r.headerOffset, quotePath(r.path), 'the index has no such entry')
      const diff = differences(r, x)
      if (diff !== undefined) throw errors.inplaceArchiveMismatch(r.headerOffset, quotePath(x.path), diff)
      n++
    }
  } finally {
    await reader.close()
  }
  if (n !== index.length) {
    const x = index.entry(n) as IndexEntry
    throw errors.inplaceArchiveMismatch(x.headerOffset, quotePath(x.path), 'the archive ends before this entry')
  }
  if (bytes !== index.archiveSize) {
    throw errors.inplaceArchiveMismatch(
      bytes,
      'end',
      `the archive has ${bytes} bytes, the index says ${index.archiveSize}`,
    )
  }
  return { sha256: hash.digest('hex'), bytes, entries: n }
}
