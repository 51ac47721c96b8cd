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
import { quotePath, sanitizeEntryPath } from '../../../common/paths.ts'
import type { IndexTable } from '../../../common/tarindex/table.ts'
import type { IndexEntry } from '../../../common/tarindex/types.ts'
import type { Layout } from './layout.ts'
import type { StateHeader } from './state.ts'

/**
 * The regular files we made, by entry number, in typed arrays: nothing per
 * file on the heap (an image has 100,000 files or more). Paths are not kept:
 * abs() rebuilds one from the index when a file is opened.
 */
export class FileTable {
  /** 1 for an entry that is a regular file we created (or, on resume, checked). */
  readonly #made: Uint8Array
  /** The inode we created; any other inode at the path is refused. */
  readonly #ino: BigUint64Array
  /** Its owner now (to skip a chown that would change nothing). */
  readonly uid: Uint32Array
  readonly gid: Uint32Array
  /** Extent bytes written so far; the total is the layout's fileTotal. */
  readonly done: Float64Array
  readonly total: Float64Array
  #count = 0

  constructor(entries: number, total: Float64Array) {
    this.#made = new Uint8Array(entries)
    this.#ino = new BigUint64Array(entries)
    this.uid = new Uint32Array(entries)
    this.gid = new Uint32Array(entries)
    this.done = new Float64Array(entries)
    this.total = total
  }

  set(i: number, ino: bigint, uid: number, gid: number): void {
    if (!this.#made[i]) this.#count++
    this.#made[i] = 1
    this.#ino[i] = ino
    this.uid[i] = uid
    this.gid[i] = gid
  }
  has(i: number): boolean {
    return i >= 0 && this.#made[i] === 1
  }
  ino(i: number): bigint {
    return this.#ino[i] as bigint
  }
  get count(): number {
    return this.#count
  }
  /** Entry numbers of every file, in archive order. */
  *entries(): Generator<number> {
    for (let i = 0; i < this.#made.length; i++) if (this.#made[i]) yield i
  }
}

export interface PendingDir {
  abs: Buffer
  id: DirId
  depth: number
  /** The archive's entry number for it; -1 for parents the archive did not list. */
  entry: number
}

/** Everything prepareInPlace sets up and the store, finalize and freeze use. */
export interface Prepared {
  table: IndexTable
  layout: Layout
  tree: SafeTree
  files: FileTable
  pending: Map<string, PendingDir>
  /** Entry number of the root directory's entry, or -1. */
  rootEntry: number
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

/** Display name of entry i, for messages. */
export function entryName(p: Prepared, i: number): string {
  return i >= 0 && i < p.table.length ? quotePath(p.table.path(i)) : '?'
}

/** Path components of entry i (checked when the target was prepared). */
export function compsOf(p: Prepared, i: number): Buffer[] {
  return sanitizeEntryPath(p.table.path(i))
}

/** Absolute path of entry i under the target. */
export function absOf(p: Prepared, i: number): Buffer {
  const c = compsOf(p, i)
  return p.tree.abs(c, c.length, entryName(p, i))
}

/** The extractor's per-entry checks, made up front so nothing fails half-way. */
export function checkEntry(e: IndexEntry, name: string): void {
  checkKernelLimits(e, name)
  if (e.type === 'symlink') {
    if (e.linkpath.length === 0) throw errors.unsupportedEntry(name, 'symlink with an empty target')
    if (e.linkpath.includes(0)) throw errors.pathEscape(name, 'symlink target contains a NUL byte')
    if (e.linkpath.length >= PATH_MAX) throw errors.nameTooLong(name, `symlink target of ${e.linkpath.length} bytes`)
  }
}

export function strips(e: Pick<IndexEntry, 'type' | 'mode'>, preserveOwner: boolean): boolean {
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
