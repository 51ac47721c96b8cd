// Rules every extractor of ours shares (the safe extractor and the install
// client's in-place store): what the kernel can hold, what mode a file gets,
// and how a finished directory gets its metadata without following a swap.
import type { FileHandle } from 'node:fs/promises'
import { errors } from '../errors.ts'
import { badXattr } from './fsops.ts'
import { type DirId, openDir } from './safe-fs.ts'

const SETID = 0o6000
/** uid_t is 32 bits and (uid_t)-1 means "unchanged"; dev_t has 12-bit majors and 20-bit minors. */
const ID_MAX = 0xfffffffe
const MAJOR_MAX = 0xfff
const MINOR_MAX = 0xfffff

interface EntryFields {
  type: string
  mode: number
  uid: number
  gid: number
  devmajor: number
  devminor: number
  xattrs: Map<string, Buffer>
}

/** Values the kernel cannot hold would fail later with untyped errors: refuse them up front. */
export function checkKernelLimits(e: EntryFields, name: string): void {
  if (e.uid > ID_MAX || e.gid > ID_MAX) throw errors.unsupportedEntry(name, `owner ${e.uid}:${e.gid} out of range`)
  if ((e.type === 'char' || e.type === 'block') && (e.devmajor > MAJOR_MAX || e.devminor > MINOR_MAX)) {
    throw errors.unsupportedEntry(name, `device number ${e.devmajor},${e.devminor} out of range`)
  }
  for (const [k, v] of e.xattrs) {
    const bad = badXattr(k, v)
    if (bad !== undefined) throw errors.unsupportedEntry(name, bad)
  }
}

/** Mode to set; without owner restoring, setuid/setgid would hand our own uid to whoever runs the file. */
export function modeFor(e: Pick<EntryFields, 'type' | 'mode'>, preserveOwner: boolean): number {
  if (preserveOwner || e.type === 'directory' || (e.mode & SETID) === 0) return e.mode
  return e.mode & ~SETID
}

/**
 * Gives a finished directory its metadata through an fd, after checking it
 * is still the directory we made or checked (same dev and inode): nothing
 * swapped it for a symlink meanwhile. `apply` is undefined for parents the
 * archive did not list: they get root:root 0755, like mkdir -p as root.
 */
export async function finishDirectory(
  abs: Buffer,
  id: DirId,
  name: string,
  preserveOwner: boolean,
  apply: ((fh: FileHandle) => Promise<void>) | undefined,
): Promise<void> {
  const fh = await openDir(abs).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ELOOP' || err.code === 'ENOTDIR' || err.code === 'ENOENT') return undefined
    throw err
  })
  const st = await fh?.stat()
  if (fh === undefined || st === undefined || st.dev !== id.dev || st.ino !== id.ino) {
    await fh?.close()
    throw errors.pathThroughSymlink(name, `${name} (replaced during extraction)`)
  }
  try {
    if (apply) await apply(fh)
    else {
      if (preserveOwner) await fh.chown(0, 0)
      await fh.chmod(0o755)
    }
  } finally {
    await fh.close()
  }
}
