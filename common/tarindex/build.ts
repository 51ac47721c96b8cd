// Builds the index of an uncompressed archive by reading it once with the
// strict TarReader: the index describes exactly what every extractor of ours
// sees, never what the packer meant to write.
import { type ReadEntry, TarReader } from '../tar/reader.ts'
import type { ArchiveIndex, Extent, IndexEntry } from './types.ts'

/** The data extents a reader entry describes (regular files only). */
export function extentsOf(e: ReadEntry): Extent[] {
  if (e.type !== 'file') return []
  if (e.sparse === undefined) return e.size > 0 ? [{ archiveOffset: e.dataOffset, length: e.size, fileOffset: 0 }] : []
  // GNU sparse 1.0: the data after the map is the segments' bytes, back to back.
  const out: Extent[] = []
  let at = e.dataOffset
  for (const s of e.sparse.map) {
    // GNU tar ends a file that ends in a hole with an empty segment: no bytes, no extent.
    if (s.size > 0) out.push({ archiveOffset: at, length: s.size, fileOffset: s.offset })
    at += s.size
  }
  return out
}

export function indexEntryOf(e: ReadEntry): IndexEntry {
  const device = e.type === 'char' || e.type === 'block'
  const linked = e.type === 'link' || e.type === 'symlink'
  const names = [...e.xattrs.keys()].sort()
  return {
    headerOffset: e.headerOffset,
    type: e.type,
    path: e.path,
    mode: e.mode,
    uid: e.uid,
    gid: e.gid,
    mtime: e.mtime,
    size: e.type !== 'file' ? 0 : (e.sparse?.realsize ?? e.size),
    linkpath: linked ? e.linkpath : Buffer.alloc(0),
    devmajor: device ? e.devmajor : 0,
    devminor: device ? e.devminor : 0,
    xattrs: new Map(names.map((n) => [n, e.xattrs.get(n) as Buffer])),
    extents: extentsOf(e),
  }
}

/** Reads a whole uncompressed tar archive and returns its index. */
export async function buildIndex(source: AsyncIterable<Buffer>): Promise<ArchiveIndex> {
  const reader = new TarReader(source)
  const entries: IndexEntry[] = []
  try {
    for (;;) {
      const e = await reader.next()
      if (e === undefined) break
      entries.push(indexEntryOf(e))
    }
    // next() read through the end-of-archive marker to the last byte.
    return { archiveSize: reader.offset, entries }
  } finally {
    await reader.close()
  }
}
