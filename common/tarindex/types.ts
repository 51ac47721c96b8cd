// The archive index (schema imgswarm/index@1): where every entry of an
// uncompressed, deterministic image archive sits, so the install client can
// write each verified piece's file bytes straight into their final files.
// docs/archive-index.md describes the file; these are the validated shapes.
import type { EntryType } from '../tar/header.ts'

export const INDEX_SCHEMA = 'imgswarm/index@1'

/** Archive bytes [archiveOffset, archiveOffset + length) hold file bytes [fileOffset, fileOffset + length). */
export interface Extent {
  archiveOffset: number
  length: number
  fileOffset: number
}

export interface IndexEntry {
  /** Archive offset of the entry's first header block (pax header included). */
  headerOffset: number
  type: EntryType
  /** Path as stored in the archive, e.g. `./etc/passwd` (bytes; directories may end with `/`). */
  path: Buffer
  /** Full mode bits (setuid/setgid/sticky included, no file-type bits). */
  mode: number
  uid: number
  gid: number
  /** Seconds since the epoch. */
  mtime: number
  /** Logical file size (the real size for sparse files); 0 for anything but regular files. */
  size: number
  /** Symlink or hard-link target; empty otherwise. */
  linkpath: Buffer
  devmajor: number
  devminor: number
  xattrs: Map<string, Buffer>
  /** Data extents of a regular file, in archive order; empty for empty files and non-files. */
  extents: Extent[]
}

export interface ArchiveIndex {
  archiveSize: number
  /** In archive order (headerOffset strictly increasing). */
  entries: IndexEntry[]
}
