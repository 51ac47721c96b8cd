// Paths inside an installed tree, which came from the network: /etc, or
// /etc/hosts, may be a symlink to anywhere. Every path is resolved the way
// the installed system will see it, as if chrooted: an absolute link target
// starts again at the tree's root and `..` stops there. So nothing outside
// the tree is ever read or written, and a link still points where the
// image's author meant. The tree is not changed by anyone else while we work.
import { randomBytes } from 'node:crypto'
import { lstat, mkdir, open, readdir, readFile, readlink, rename, rm, unlink } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { errors } from '../../common/errors.ts'

/** Same limit as the kernel's (MAXSYMLINKS). */
const MAX_LINKS = 40

function parts(p: string): string[] {
  return p.split('/').filter((s) => s !== '' && s !== '.')
}

function errno(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException).code
}

async function lstatOrNone(p: string) {
  return lstat(p).catch((e: unknown) => {
    if (errno(e) === 'ENOENT') return undefined
    throw e
  })
}

/**
 * The host path of `path` (absolute, as the installed system names it) inside
 * `root` (a real directory). Symlinks on the way are followed within the root;
 * the last one too unless `followLast` is false. No component of the result
 * is a symlink, except the last when `followLast` is false. Every parent must
 * exist and be a directory; the last component may be missing.
 */
export async function resolveInTarget(root: string, path: string, followLast = true): Promise<string> {
  const at = await resolve(root, path, followLast)
  if (typeof at === 'string') return at
  throw errors.targetPath(path, `${at.missing} does not exist`)
}

/** resolveInTarget, or undefined when a parent directory is missing (so the file is too). */
async function resolveOrNone(root: string, path: string, followLast = true): Promise<string | undefined> {
  const at = await resolve(root, path, followLast)
  return typeof at === 'string' ? at : undefined
}

async function resolve(root: string, path: string, followLast: boolean): Promise<string | { missing: string }> {
  let todo = parts(path)
  let done: string[] = []
  let links = 0
  while (todo.length > 0) {
    const c = todo.shift() as string
    if (c === '..') {
      done.pop()
      continue
    }
    const here = join(root, ...done, c)
    const st = await lstatOrNone(here)
    const last = todo.length === 0
    if (st?.isSymbolicLink() && (!last || followLast)) {
      if (++links > MAX_LINKS) throw errors.targetPath(path, 'too many levels of symbolic links')
      const link = await readlink(here)
      if (link.startsWith('/')) done = []
      todo = [...parts(link), ...todo]
      continue
    }
    if (!last && st === undefined) return { missing: `/${[...done, c].join('/')}` }
    if (!last && !st?.isDirectory()) throw errors.targetPath(path, `/${[...done, c].join('/')} is not a directory`)
    done.push(c)
  }
  return join(root, ...done)
}

/** The contents of a file in the tree, or undefined when it does not exist. */
export async function readTargetFile(root: string, path: string): Promise<string | undefined> {
  const at = await resolveOrNone(root, path)
  const st = at === undefined ? undefined : await lstatOrNone(at)
  if (st === undefined) return undefined
  if (!st.isFile()) throw errors.targetPath(path, 'is not a regular file')
  return await readFile(at as string, 'utf8')
}

/**
 * Replaces (or creates) a file atomically: a temp file beside it, fsync,
 * rename. An existing file keeps its mode and owner; a new one gets `mode`,
 * owned by root.
 */
export async function writeTargetFile(root: string, path: string, data: string, mode = 0o644): Promise<string> {
  const at = await resolveInTarget(root, path)
  const old = await lstatOrNone(at)
  if (old !== undefined && !old.isFile()) throw errors.targetPath(path, 'exists and is not a regular file')
  const tmp = join(dirname(at), `.imgswarm-${randomBytes(6).toString('hex')}.tmp`)
  // 'wx' is O_CREAT|O_EXCL: it never follows a symlink planted at the temp name.
  const fh = await open(tmp, 'wx', old?.mode ?? mode)
  try {
    await fh.writeFile(data)
    await fh.chmod((old?.mode ?? mode) & 0o7777)
    await fh.chown(old?.uid ?? 0, old?.gid ?? 0)
    await fh.sync()
    await fh.close()
    await rename(tmp, at)
  } catch (e) {
    await fh.close().catch(() => undefined)
    await rm(tmp, { force: true })
    throw e
  }
  return at
}

/**
 * Removes a file (the link itself when it is a symlink). With `onlyRegular`,
 * anything but a regular file is left alone. True when something was removed.
 */
export async function removeTargetFile(root: string, path: string, onlyRegular = false): Promise<boolean> {
  const at = await resolveOrNone(root, path, false)
  const st = at === undefined ? undefined : await lstatOrNone(at)
  if (at === undefined || st === undefined || st.isDirectory() || (onlyRegular && !st.isFile())) return false
  await unlink(at)
  return true
}

/** Names in a directory of the tree; [] when it does not exist. */
export async function listTargetDir(root: string, path: string): Promise<string[]> {
  const at = await resolveOrNone(root, path)
  const st = at === undefined ? undefined : await lstatOrNone(at)
  if (at === undefined || st === undefined) return []
  if (!st.isDirectory()) throw errors.targetPath(path, 'is not a directory')
  return await readdir(at)
}

/** The host path of a regular file with an execute bit, found within the tree; undefined otherwise. */
export async function targetExecutable(root: string, path: string): Promise<string | undefined> {
  const at = await resolveOrNone(root, path)
  if (at === undefined) return undefined
  const st = await lstatOrNone(at)
  return st?.isFile() && (st.mode & 0o111) !== 0 ? at : undefined
}

/**
 * A directory of the tree for mounting on or pointing tools at: it must be a
 * real directory (created, mode 0755, when missing), never a symlink, since
 * mount(8) and the tools would follow a link out of the tree.
 */
export async function targetDirectory(root: string, path: string): Promise<string> {
  let dir = root
  for (const c of parts(path)) {
    if (c === '..') throw errors.targetPath(path, 'contains ..')
    dir = join(dir, c)
    const st = await lstatOrNone(dir)
    if (st === undefined) await mkdir(dir, { mode: 0o755 })
    else if (st.isSymbolicLink()) throw errors.targetPath(path, `${dir.slice(root.length)} is a symlink`)
    else if (!st.isDirectory()) throw errors.targetPath(path, `${dir.slice(root.length)} is not a directory`)
  }
  return dir
}

/** True when `path` (as the installed system sees it) is a regular file inside the target. */
export async function isFileInTarget(root: string, path: string): Promise<boolean> {
  const at = await resolveInTarget(root, path).catch(() => undefined)
  if (at === undefined) return false
  return lstat(at).then(
    (s) => s.isFile(),
    () => false,
  )
}
