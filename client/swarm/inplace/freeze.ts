// The freeze rule: once the install is finished the node changes its files
// (overrides, hostname, machine-id, host keys, scripts), and a piece must
// never be served with changed bytes. freeze() records each installed file's
// inode, ctime and size; a piece touching a file whose record no longer
// matches (or that is gone) is refused. ctime cannot be set back by a
// program, so any write, truncate, chmod or xattr change is seen.
import { constants as C, closeSync, fstatSync, openSync } from 'node:fs'
import { lstat } from 'node:fs/promises'
import { errors } from '../../../common/errors.ts'
import { absOf, entryName, type Prepared } from './meta.ts'

/**
 * Each file's ctime (ns) and size at freeze time, by entry number, in typed
 * arrays (the inode is the one in p.files). ctime 0: no record (the file had
 * already changed, or is not one of ours).
 */
export interface Frozen {
  ctimeNs: BigInt64Array
  size: Float64Array
}

export async function freezeFiles(p: Prepared): Promise<Frozen> {
  const out: Frozen = { ctimeNs: new BigInt64Array(p.table.length), size: new Float64Array(p.table.length) }
  for (const i of p.files.entries()) {
    const st = await lstat(absOf(p, i), { bigint: true }).catch(() => undefined)
    if (st?.isFile() && st.ino === p.files.ino(i) && st.ctimeNs !== 0n) {
      out.ctimeNs[i] = st.ctimeNs
      out.size[i] = Number(st.size)
    }
  }
  return out
}

/** Opens entry `i`'s file for reading (an fd) if it is unchanged since freeze; otherwise refuses the piece. */
export function openFrozen(frozen: Frozen, p: Prepared, i: number, piece: number): number {
  const name = entryName(p, i)
  const ctimeNs = frozen.ctimeNs[i] ?? 0n
  if (!p.files.has(i) || ctimeNs === 0n) throw errors.inplaceChanged(piece, name, 'was changed')
  let fd: number
  try {
    fd = openSync(absOf(p, i), C.O_RDONLY | C.O_NOFOLLOW)
  } catch {
    throw errors.inplaceChanged(piece, name, 'was removed or replaced')
  }
  const st = fstatSync(fd, { bigint: true })
  const what =
    st.ino !== p.files.ino(i)
      ? 'was replaced'
      : Number(st.size) !== frozen.size[i]
        ? 'changed size'
        : st.ctimeNs !== ctimeNs
          ? 'was changed'
          : undefined
  if (what !== undefined) {
    closeSync(fd)
    throw errors.inplaceChanged(piece, name, what)
  }
  return fd
}
