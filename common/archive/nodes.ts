// Entries that cannot be opened safely (devices: opening one can have side
// effects; fifos: opening blocks; symlinks: opening follows) and that need a
// tool (mknod, mkfifo) or setfattr -h. Tools take string paths and names are
// bytes, so the node is made under a temporary ASCII name in the parent
// directory, which is handed to the tool as an open fd (/proc/self/fd/3:
// no path to race), given its metadata there and then renamed into place.
import { randomBytes } from 'node:crypto'
import { chmod, lchown, lutimes, rename, symlink } from 'node:fs/promises'
import type { ReadEntry } from '../tar/reader.ts'
import { mknodAt, setXattrs, TMP_PREFIX } from './fsops.ts'
import { openDir, type SafeTree, unlinkQuietly } from './safe-fs.ts'

const SLASH = Buffer.from('/')

/**
 * Creates a device, fifo or symlink entry at `comps` (parents verified, the
 * final path cleared) with owner, mode (not for symlinks), xattrs and mtime.
 */
export async function placeNode(
  tree: SafeTree,
  comps: Buffer[],
  name: string,
  e: ReadEntry,
  preserveOwner: boolean,
  mode: number,
): Promise<void> {
  const parent = tree.abs(comps, comps.length - 1, name)
  const final = tree.abs(comps, comps.length, name)
  // Unpredictable, so no archive entry can sit at the name in advance (mknod would then fail, not follow).
  const tmpName = `${TMP_PREFIX}${randomBytes(8).toString('hex')}`
  const tmp = Buffer.concat([parent, SLASH, Buffer.from(tmpName)])
  const dir = await openDir(parent)
  try {
    if (e.type === 'symlink') await symlink(e.linkpath, tmp)
    else if (e.type === 'char' || e.type === 'block' || e.type === 'fifo') {
      await mknodAt(dir.fd, tmpName, e.type, e.devmajor, e.devminor)
    } else throw new Error(`placeNode: unexpected type ${e.type}`)
    try {
      if (preserveOwner) await lchown(tmp, e.uid, e.gid)
      // Linux has no lchmod; the name is ours and was just made as this node, not a symlink.
      if (e.type !== 'symlink') await chmod(tmp, mode)
      await setXattrs(dir.fd, e.xattrs, tmpName)
      await lutimes(tmp, e.mtime, e.mtime)
      await rename(tmp, final)
    } catch (err) {
      await unlinkQuietly(tmp)
      throw err
    }
  } finally {
    await dir.close()
  }
}
