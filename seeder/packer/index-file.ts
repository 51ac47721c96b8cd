// Writes the archive index (docs/archive-index.md) of a freshly written,
// uncompressed archive. The index is built by reading the archive back with
// the strict tar reader, and checked with the same parser the node runs, so
// an index that a client would refuse fails the pack instead of the install.
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { buildIndex, encodeIndex, parseIndex } from '../../common/tarindex/index.ts'

export interface IndexFileInfo {
  size: number
  sha256: string
  entries: number
}

export async function writeIndexFile(
  archive: string,
  archiveSize: number,
  out: string,
  signal?: AbortSignal,
): Promise<IndexFileInfo> {
  const stream = createReadStream(archive, { highWaterMark: 1 << 20, ...(signal ? { signal } : {}) })
  const index = await buildIndex(stream)
  if (index.archiveSize !== archiveSize) {
    throw new Error(`index covers ${index.archiveSize} bytes, the archive written has ${archiveSize}`)
  }
  const bytes = encodeIndex(index)
  parseIndex(bytes, { archiveSize, maxBytes: bytes.length })
  await writeFile(out, bytes, { flag: 'wx', mode: 0o644 })
  return { size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex'), entries: index.entries.length }
}
