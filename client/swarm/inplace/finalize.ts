// After the last piece: the entries that have no data (hard links, symlinks,
// devices, fifos) are placed in archive order, then directory metadata is
// applied deepest first, the root last: the safe extractor's result exactly.
import { lchown, link, lstat, lutimes, symlink } from 'node:fs/promises'
import { placeNode } from '../../../common/archive/nodes.ts'
import { finishDirectory } from '../../../common/archive/rules.ts'
import type { DirId } from '../../../common/archive/safe-fs.ts'
import { errors } from '../../../common/errors.ts'
import { quotePath, sanitizeEntryPath } from '../../../common/paths.ts'
import type { ReadEntry } from '../../../common/tar/reader.ts'
import type { IndexEntry } from '../../../common/tarindex/types.ts'
import { applyMeta, modeFor, type Prepared, strips } from './meta.ts'
import { named } from './prepare.ts'

/** placeNode takes the reader's entry shape; an index entry carries the same fields. */
function asReadEntry(e: IndexEntry): ReadEntry {
  return {
    path: e.path,
    type: e.type,
    mode: e.mode,
    uid: e.uid,
    gid: e.gid,
    size: 0,
    mtime: e.mtime,
    linkpath: e.linkpath,
    devmajor: e.devmajor,
    devminor: e.devminor,
    xattrs: e.xattrs,
    headerOffset: e.headerOffset,
    dataOffset: e.headerOffset,
  }
}

export async function finalizeTree(p: Prepared, signal?: AbortSignal): Promise<void> {
  let stripped = 0
  const t = p.table
  for (let i = 0; i < t.length; i++) {
    const type = t.type(i)
    if (type === 'file' && strips({ type, mode: t.mode(i) }, p.preserveOwner)) stripped++
    if (type === 'file' || type === 'directory') continue
    signal?.throwIfAborted()
    const e = t.entry(i)
    const name = quotePath(e.path)
    try {
      await placeEntry(p, e, sanitizeEntryPath(e.path), name)
    } catch (err) {
      throw named(err, name)
    }
    if (e.type !== 'link' && e.type !== 'symlink' && strips(e, p.preserveOwner)) stripped++
  }
  const dirs = [...p.pending.values()].sort((a, b) => b.depth - a.depth)
  for (const d of dirs) {
    signal?.throwIfAborted()
    await finishDir(p, d.abs, d.id, d.entry >= 0 ? t.entry(d.entry) : undefined)
  }
  if (p.rootEntry >= 0) await finishDir(p, p.tree.root, p.tree.rootId, t.entry(p.rootEntry))
  if (stripped > 0) {
    p.onWarning(
      `cleared setuid/setgid on ${stripped} entr${stripped === 1 ? 'y' : 'ies'}: owners are not being restored`,
    )
  }
}

async function placeEntry(p: Prepared, e: IndexEntry, comps: Buffer[], name: string): Promise<void> {
  const { tree } = p
  await tree.parents(comps, name, false)
  const to = tree.abs(comps, comps.length, name)
  if (e.type === 'link') {
    // prepareInPlace checked that the target is an earlier file or link entry.
    const target = quotePath(e.linkpath)
    const refuse = (why: string) => errors.hardlinkEscape(name, target, why)
    const tcomps = sanitizeEntryPath(e.linkpath)
    await tree.parents(tcomps, name, false, refuse)
    const from = tree.abs(tcomps, tcomps.length, name)
    const st = await lstat(from).catch(() => undefined)
    if (st === undefined) throw refuse('the target does not exist in the extraction root')
    if (!st.isFile()) throw refuse(`the target is a ${st.isSymbolicLink() ? 'symlink' : 'non-regular file'}`)
    await tree.clear(comps, name, false)
    // link(2) never follows a symlink in its source, and the target was checked above.
    await link(from, to)
    return
  }
  await tree.clear(comps, name, false)
  if (e.type === 'symlink' && e.xattrs.size === 0) {
    await symlink(e.linkpath, to)
    if (p.preserveOwner) await lchown(to, e.uid, e.gid)
    await lutimes(to, e.mtime, e.mtime)
    return
  }
  const mode = e.type === 'symlink' ? 0 : modeFor(e, p.preserveOwner)
  await placeNode(tree, comps, name, asReadEntry(e), p.preserveOwner, mode)
}

async function finishDir(p: Prepared, abs: Buffer, id: DirId, e: IndexEntry | undefined): Promise<void> {
  const name = e ? quotePath(e.path) : quotePath(abs)
  try {
    await finishDirectory(abs, id, name, p.preserveOwner, e ? (fh) => applyMeta(fh, e, p.preserveOwner) : undefined)
  } catch (err) {
    throw named(err, name)
  }
}
