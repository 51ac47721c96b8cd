// The state shared by the in-place steps, and the metadata rules they share
// with the safe extractor (common/archive/extract.ts): the same checks, the
// same order (owner, mode, xattrs, times), the same setuid rule.
import { fchmodSync, fchownSync, futimesSync } from 'node:fs'
import type { FileHandle } from 'node:fs/promises'
import { setXattrs } from '../../../common/archive/fsops.ts'
import { checkKernelLimits, modeFor } from '../../../common/archive/rules.ts'
import type { DirId, SafeTree } from '../../../common/archive/safe-fs.ts'
import { PATH_MAX } from '../../../common/constants.ts'
import { errors } from '../../../common/errors.ts'
import type { ArchiveIndex, IndexEntry } from '../../../common/tarindex/types.ts'
import type { Layout } from './layout.ts'
import type { StateHeader } from './state.ts'

export interface FileSlot {
  entry: number
  abs: Buffer
  /** The inode we created; any other inode at the path is refused. */
  ino: bigint
  /** Its owner now (to skip a chown that would change nothing). */
  uid: number
  gid: number
  /** Extent bytes written so far, and in all. */
  done: number
  total: number
}

export interface PendingDir {
  abs: Buffer
  id: DirId
  depth: number
  /** The archive's entry for it; undefined for parents the archive did not list. */
  entry: IndexEntry | undefined
}

/** Everything prepareInPlace sets up and the store, finalize and freeze use. */
export interface Prepared {
  index: ArchiveIndex
  layout: Layout
  tree: SafeTree
  /** Path components of each entry (empty for the root). */
  comps: Buffer[][]
  files: Map<number, FileSlot>
  pending: Map<string, PendingDir>
  rootEntry: IndexEntry | undefined
  workDir: string
  header: StateHeader
  bits: Uint8Array
  resumed: boolean
  preserveOwner: boolean
  /** Keys of directories that are mount points of the target's file systems: they exist already. */
  mountPoints: Set<string>
  onWarning: (msg: string) => void
}

export { modeFor }

/** The extractor's per-entry checks, made up front so nothing fails half-way. */
export function checkEntry(e: IndexEntry, name: string): void {
  checkKernelLimits(e, name)
  if (e.type === 'symlink') {
    if (e.linkpath.length === 0) throw errors.unsupportedEntry(name, 'symlink with an empty target')
    if (e.linkpath.includes(0)) throw errors.pathEscape(name, 'symlink target contains a NUL byte')
    if (e.linkpath.length >= PATH_MAX) throw errors.nameTooLong(name, `symlink target of ${e.linkpath.length} bytes`)
  }
}

export function strips(e: IndexEntry, preserveOwner: boolean): boolean {
  return modeFor(e, preserveOwner) !== e.mode
}

/** Owner, then mode (chown clears setuid), then xattrs (chown clears capabilities), then times. */
export async function applyMeta(fh: FileHandle, e: IndexEntry, preserveOwner: boolean): Promise<void> {
  if (preserveOwner) await fh.chown(e.uid, e.gid)
  await fh.chmod(modeFor(e, preserveOwner))
  await setXattrs(fh.fd, e.xattrs)
  await fh.utimes(e.mtime, e.mtime)
}

/** applyMeta on a raw fd, with direct syscalls (small files: see io.ts); `f` is the file's current owner. */
export async function applyMetaFd(
  fd: number,
  e: IndexEntry,
  preserveOwner: boolean,
  f: { uid: number; gid: number },
): Promise<void> {
  // chown's side effects (clearing setuid, capabilities) are undone below anyway.
  if (preserveOwner && (f.uid !== e.uid || f.gid !== e.gid)) fchownSync(fd, e.uid, e.gid)
  fchmodSync(fd, modeFor(e, preserveOwner))
  if (e.xattrs.size > 0) await setXattrs(fd, e.xattrs)
  futimesSync(fd, e.mtime, e.mtime)
}
