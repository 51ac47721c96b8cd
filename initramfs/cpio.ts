// A reproducible newc ("070701") cpio archive, the format the kernel unpacks
// into its initial root (Documentation/driver-api/early-userspace/buffer-format.rst).
// Written here rather than by cpio(1) so that every header field is ours:
// sorted paths, inode numbers in that order, owner 0, one fixed mtime, no
// hard links (each file is stored whole), device numbers 0.
import { createReadStream } from 'node:fs'
import type { Writable } from 'node:stream'
import type { Tree, TreeEntry } from './tree.ts'

const MAGIC = '070701'
const TRAILER = 'TRAILER!!!'
const S_IFDIR = 0o040000
const S_IFREG = 0o100000
const S_IFLNK = 0o120000
const S_IFCHR = 0o020000

function hex8(n: number): string {
  return n.toString(16).padStart(8, '0')
}

/** One newc header plus the NUL-terminated name, padded to 4 bytes. */
export function header(o: {
  ino: number
  mode: number
  nlink: number
  mtime: number
  size: number
  name: string
  rdev?: [number, number]
}): Buffer {
  const name = Buffer.from(`${o.name}\0`)
  const [rmaj, rmin] = o.rdev ?? [0, 0]
  // ino mode uid gid nlink mtime filesize devmajor devminor rdevmajor rdevminor namesize check
  const fields = [o.ino, o.mode, 0, 0, o.nlink, o.mtime, o.size, 0, 0, rmaj, rmin, name.length, 0]
  const head = Buffer.from(MAGIC + fields.map(hex8).join(''), 'ascii')
  return Buffer.concat([head, name, Buffer.alloc(pad4(head.length + name.length))])
}

function pad4(n: number): number {
  return (4 - (n % 4)) % 4
}

function typeBits(e: TreeEntry): number {
  if (e.kind === 'dir') return S_IFDIR
  if (e.kind === 'symlink') return S_IFLNK
  if (e.kind === 'chardev') return S_IFCHR
  return S_IFREG
}

async function write(out: Writable, b: Buffer): Promise<void> {
  if (!out.write(b)) await new Promise<void>((r) => out.once('drain', () => r()))
}

/**
 * Writes the tree as a newc archive to `out` (not ended). Paths are stored
 * without a leading slash, in byte order, so parents come before children.
 * Returns the number of bytes written.
 */
export async function writeCpio(tree: Tree, out: Writable, mtime: number): Promise<number> {
  let ino = 1
  let total = 0
  const put = async (b: Buffer) => {
    await write(out, b)
    total += b.length
  }
  for (const [path, e] of tree.sorted()) {
    const name = path === '/' ? '.' : path.slice(1)
    const mode = typeBits(e) | (e.mode & 0o7777)
    if (e.kind === 'dir') {
      await put(header({ ino: ino++, mode, nlink: 2, mtime, size: 0, name }))
    } else if (e.kind === 'chardev') {
      await put(header({ ino: ino++, mode, nlink: 1, mtime, size: 0, name, rdev: [e.major, e.minor] }))
    } else if (e.kind === 'symlink') {
      const target = Buffer.from(e.target)
      await put(header({ ino: ino++, mode, nlink: 1, mtime, size: target.length, name }))
      await put(Buffer.concat([target, Buffer.alloc(pad4(target.length))]))
    } else {
      await put(header({ ino: ino++, mode, nlink: 1, mtime, size: e.size, name }))
      let got = 0
      if (e.data !== undefined) {
        await put(e.data)
        got = e.data.length
      } else {
        for await (const c of createReadStream(e.source ?? path)) {
          await put(c as Buffer)
          got += (c as Buffer).length
        }
      }
      if (got !== e.size) throw new Error(`${e.source ?? path} changed size while being archived (${e.size} -> ${got})`)
      await put(Buffer.alloc(pad4(e.size)))
    }
  }
  await put(header({ ino: 0, mode: 0, nlink: 1, mtime: 0, size: 0, name: TRAILER }))
  return total
}
