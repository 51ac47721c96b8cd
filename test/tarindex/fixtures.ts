// A small valid index built in memory, and ways to change one entry line:
// the starting point of the hostile-index tests.
import { type ArchiveIndex, encodeIndex, type IndexEntry } from '../../common/tarindex/index.ts'

export const ARCHIVE_SIZE = 10240

function entry(
  headerOffset: number,
  type: IndexEntry['type'],
  path: string,
  extra: Partial<IndexEntry> = {},
): IndexEntry {
  return {
    headerOffset,
    type,
    path: Buffer.from(path),
    mode: type === 'directory' ? 0o755 : 0o644,
    uid: 0,
    gid: 0,
    mtime: 1588655105,
    size: 0,
    linkpath: Buffer.alloc(0),
    devmajor: 0,
    devminor: 0,
    xattrs: new Map(),
    extents: [],
    ...extra,
  }
}

/** Entry numbers, for naming them in tests. */
export const E = { root: 0, etc: 1, passwd: 2, link: 3, symlink: 4, dev: 5, sparse: 6, fifo: 7 }

export function baseIndex(): ArchiveIndex {
  return {
    archiveSize: ARCHIVE_SIZE,
    entries: [
      entry(0, 'directory', './'),
      entry(512, 'directory', './etc/'),
      entry(1024, 'file', './etc/passwd', {
        size: 100,
        extents: [{ archiveOffset: 1536, length: 100, fileOffset: 0 }],
      }),
      entry(2048, 'link', './etc/pw2', { linkpath: Buffer.from('./etc/passwd') }),
      entry(2560, 'symlink', './etc/sym', { linkpath: Buffer.from('/nowhere') }),
      entry(3072, 'char', './tty9', { devmajor: 4, devminor: 9 }),
      entry(3584, 'file', './sparse', {
        size: 1_000_000,
        xattrs: new Map([['user.a', Buffer.from('v')]]),
        extents: [
          { archiveOffset: 4608, length: 10, fileOffset: 0 },
          { archiveOffset: 4618, length: 20, fileOffset: 500_000 },
        ],
      }),
      entry(5120, 'fifo', './fifo'),
    ],
  }
}

export const BASE = encodeIndex(baseIndex())

export function lines(b: Buffer = BASE): string[] {
  return b.toString('utf8').split('\n')
}

/** The index with entry i's JSON object changed by `f` (key order kept as far as f keeps it). */
export function mutateEntry(i: number, f: (o: Record<string, unknown>) => void): Buffer {
  const ls = lines()
  const at = i + 1
  const line = ls[at] as string
  const comma = line.endsWith(',')
  const o = JSON.parse(comma ? line.slice(0, -1) : line) as Record<string, unknown>
  f(o)
  ls[at] = `${JSON.stringify(o)}${comma ? ',' : ''}`
  return Buffer.from(ls.join('\n'))
}

export const b64 = (s: string | Buffer) => Buffer.from(s).toString('base64')
