// The file tree of a boot image before it is archived: paths inside the
// image mapped to directories, symlinks and files (from a source file on the
// build host's disk, or bytes made here). Copying from an extracted package
// tree (the sysroot) follows symlinks inside that tree, so a library's
// SONAME link and its target both arrive.
import { lstat, readlink, stat } from 'node:fs/promises'
import { posix } from 'node:path'
import { errors } from '../common/errors.ts'

export type TreeEntry =
  | { kind: 'dir'; mode: number }
  | { kind: 'symlink'; mode: number; target: string }
  | { kind: 'chardev'; mode: number; major: number; minor: number }
  | { kind: 'file'; mode: number; size: number; source?: string; data?: Buffer }

function norm(path: string): string {
  const p = posix.normalize(`/${path}`)
  return p.length > 1 && p.endsWith('/') ? p.slice(0, -1) : p
}

export class Tree {
  readonly #entries = new Map<string, TreeEntry>()

  constructor() {
    this.#entries.set('/', { kind: 'dir', mode: 0o755 })
  }

  has(path: string): boolean {
    return this.#entries.has(norm(path))
  }

  get(path: string): TreeEntry | undefined {
    return this.#entries.get(norm(path))
  }

  get size(): number {
    return this.#entries.size
  }

  /** Total bytes of file contents. */
  get bytes(): number {
    let n = 0
    for (const e of this.#entries.values()) if (e.kind === 'file') n += e.size
    return n
  }

  dir(path: string, mode = 0o755): void {
    const p = norm(path)
    const cur = this.#entries.get(p)
    if (cur?.kind === 'dir') return
    if (cur !== undefined) throw errors.bootBuild(`${p} is already a ${cur.kind}, cannot make it a directory`)
    if (p !== '/') this.dir(posix.dirname(p))
    this.#entries.set(p, { kind: 'dir', mode })
  }

  #put(path: string, e: TreeEntry, replace: boolean): boolean {
    const p = norm(path)
    const cur = this.#entries.get(p)
    if (cur !== undefined && !replace) return false
    if (cur?.kind === 'dir') throw errors.bootBuild(`${p} is a directory, cannot replace it with a ${e.kind}`)
    this.dir(posix.dirname(p))
    this.#entries.set(p, e)
    return true
  }

  data(path: string, data: Buffer | string, mode = 0o644, replace = true): void {
    const b = Buffer.isBuffer(data) ? data : Buffer.from(data)
    this.#put(path, { kind: 'file', mode, size: b.length, data: b }, replace)
  }

  async file(path: string, source: string, mode?: number, replace = true): Promise<void> {
    const st = await stat(source)
    if (!st.isFile()) throw errors.bootBuild(`${source} is not a regular file`)
    this.#put(path, { kind: 'file', mode: mode ?? st.mode & 0o7777, size: st.size, source }, replace)
  }

  /** A character device node (the kernel needs /dev/console before devtmpfs is mounted). */
  chardev(path: string, major: number, minor: number, mode = 0o600): void {
    this.#put(path, { kind: 'chardev', mode, major, minor }, true)
  }

  symlink(path: string, target: string, replace = true): boolean {
    return this.#put(path, { kind: 'symlink', mode: 0o777, target }, replace)
  }

  /**
   * Copies `path` from the extracted package tree `root` (same path inside
   * the image), following symlinks within `root` so their targets come too.
   * Returns the final regular file's path inside the image.
   */
  async fromRoot(root: string, path: string, depth = 0): Promise<string> {
    const p = norm(path)
    if (depth > 40) throw errors.bootBuild(`${p}: too many levels of symlinks in the package tree`)
    // Resolve the parents first: a path through a symlinked directory is copied as the link and its target.
    const parent = posix.dirname(p)
    if (parent !== '/') {
      const st = await lstat(root + parent).catch(() => undefined)
      if (st?.isSymbolicLink()) {
        const realParent = await this.fromRoot(root, parent, depth + 1)
        return this.fromRoot(root, posix.join(realParent, posix.basename(p)), depth + 1)
      }
    }
    const st = await lstat(root + p).catch(() => undefined)
    if (st === undefined) throw errors.bootBuild(`${p} is not in the downloaded packages`)
    if (st.isSymbolicLink()) {
      const target = await readlink(root + p)
      this.symlink(p, target)
      return this.fromRoot(root, posix.resolve(posix.dirname(p), target), depth + 1)
    }
    if (st.isDirectory()) {
      this.dir(p, st.mode & 0o7777)
      return p
    }
    if (!st.isFile()) throw errors.bootBuild(`${p} in the package tree is neither a file, a directory nor a symlink`)
    await this.file(p, root + p, st.mode & 0o7777)
    return p
  }

  /** Entries in byte order of their paths: a parent always comes before its children. */
  sorted(): [string, TreeEntry][] {
    return [...this.#entries.entries()].sort(([a], [b]) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
  }
}
