// The extraction root and the only ways the extractor touches paths under it.
// Nothing here follows a symlink: every parent directory is lstat'ed from the
// root down before anything is created under it (and remembered until an
// entry replaces it), and final components are created with O_EXCL /
// O_NOFOLLOW or removed first.
import type { Stats } from 'node:fs'
import { constants as C } from 'node:fs'
import { type FileHandle, lstat, mkdir, open, realpath, rm, unlink } from 'node:fs/promises'
import { PATH_MAX } from '../constants.ts'
import { errors } from '../errors.ts'
import { quotePath } from '../paths.ts'

const SLASH = Buffer.from('/')

export interface DirId {
  dev: number
  ino: number
}

export interface TreeHooks {
  /** A parent directory the archive did not list was created. */
  onImplicitDir(key: string, abs: Buffer, id: DirId): void
  /** A directory (and everything under it) was removed to make way for an entry. */
  onRemovedDir(key: string): void
}

function missing(e: unknown): undefined {
  if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined
  throw e
}

/** lstat that reports a missing path as undefined. */
export async function lstatOrNone(p: Buffer): Promise<Stats | undefined> {
  return lstat(p).catch(missing)
}

/** Opens a directory without following a symlink in its last component. */
export function openDir(p: Buffer): Promise<FileHandle> {
  return open(p, C.O_RDONLY | C.O_DIRECTORY | C.O_NOFOLLOW)
}

/** Map/Set key for a relative path: latin1 maps bytes 1:1, so any name is exact. */
export function keyOf(comps: Buffer[], n = comps.length): string {
  return Buffer.concat(comps.slice(0, n).flatMap((c, i) => (i === 0 ? [c] : [SLASH, c]))).toString('latin1')
}

export class SafeTree {
  readonly root: Buffer
  readonly rootId: DirId
  readonly #hooks: TreeHooks
  /** Relative paths (keys) known to be real directories, not symlinks. */
  readonly #verified = new Set<string>([''])

  private constructor(root: Buffer, rootId: DirId, hooks: TreeHooks) {
    this.root = root
    this.rootId = rootId
    this.#hooks = hooks
  }

  /** The target directory itself is the operator's choice, so it may be reached through symlinks. */
  static async open(targetDir: string, hooks: TreeHooks): Promise<SafeTree> {
    await mkdir(targetDir, { recursive: true })
    const root = Buffer.from(await realpath(targetDir))
    const st = await lstat(root)
    return new SafeTree(root, { dev: st.dev, ino: st.ino }, hooks)
  }

  /** Absolute path of the first n components; refuses what the kernel would (ENAMETOOLONG). */
  abs(comps: Buffer[], n = comps.length, entry = ''): Buffer {
    const parts: Buffer[] = [this.root]
    for (let i = 0; i < n; i++) parts.push(SLASH, comps[i] as Buffer)
    const p = Buffer.concat(parts)
    // PATH_MAX counts the terminating NUL.
    if (p.length >= PATH_MAX) {
      throw errors.nameTooLong(entry, `path is ${p.length} bytes once under the target, more than ${PATH_MAX - 1}`)
    }
    return p
  }

  /**
   * Makes sure every parent of `comps` is a real directory, creating missing
   * ones (0700: the final mode is set at the end). With `create` false a
   * missing parent is an error reported through `fail`.
   */
  async parents(comps: Buffer[], entry: string, create = true, fail?: (why: string) => Error): Promise<void> {
    // A key is only ever verified after all its parents were (and forget() drops whole
    // subtrees), so a verified parent means the whole chain is: one key, not one per level.
    if (comps.length < 2 || this.#verified.has(keyOf(comps, comps.length - 1))) return
    for (let i = 1; i < comps.length; i++) {
      const key = keyOf(comps, i)
      if (this.#verified.has(key)) continue
      const p = this.abs(comps, i, entry)
      let st = await lstatOrNone(p)
      if (st === undefined) {
        if (!create)
          throw (fail ?? ((why) => errors.pathEscape(entry, why)))(
            `${quotePath(Buffer.from(key, 'latin1'))} does not exist`,
          )
        await mkdir(p, 0o700)
        st = await lstat(p)
        if (st.isDirectory()) this.#hooks.onImplicitDir(key, p, { dev: st.dev, ino: st.ino })
      }
      if (!st.isDirectory()) {
        const shown = quotePath(Buffer.from(key, 'latin1'))
        throw fail
          ? fail(`its parent ${shown} is a symlink or not a directory`)
          : errors.pathThroughSymlink(entry, shown)
      }
      this.#verified.add(key)
    }
  }

  /**
   * Clears the way for a new entry at `comps` (parents already verified):
   * removes whatever is there, except that an existing real directory is kept
   * (and returned) when the new entry is a directory too.
   */
  async clear(comps: Buffer[], entry: string, keepDir: boolean): Promise<Stats | undefined> {
    const p = this.abs(comps, comps.length, entry)
    const st = await lstatOrNone(p)
    if (st === undefined) return undefined
    if (st.isDirectory()) {
      if (keepDir) return st
      // fs.rm does not follow symlinks it finds inside the tree.
      await rm(p, { recursive: true, force: true })
      this.forget(keyOf(comps))
    } else {
      await unlink(p)
    }
    return undefined
  }

  /** Records that `key` is a real directory we just made or checked. */
  verified(key: string): void {
    this.#verified.add(key)
  }

  /** Drops `key` and everything under it from the verified set. */
  forget(key: string): void {
    const under = `${key}/`
    for (const k of this.#verified) if (k === key || k.startsWith(under)) this.#verified.delete(k)
    this.#hooks.onRemovedDir(key)
  }
}

/** Unlinks a path, ignoring a missing one (cleanup on failure paths). */
export async function unlinkQuietly(p: Buffer): Promise<void> {
  await unlink(p).catch(() => undefined)
}
