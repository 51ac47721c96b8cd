// The freeze rule: once the install is finished the node changes its files
// (overrides, hostname, machine-id, host keys, scripts), and a piece must
// never be served with changed bytes. freeze() records each installed file's
// inode, ctime and size; a piece touching a file whose record no longer
// matches (or that is gone) is refused. ctime cannot be set back by a
// program, so any write, truncate, chmod or xattr change is seen.
import { constants as C, closeSync, fstatSync, openSync } from 'node:fs'
import { lstat } from 'node:fs/promises'
import { errors } from '../../../common/errors.ts'
import { quotePath } from '../../../common/paths.ts'
import type { Prepared } from './meta.ts'

interface Mark {
  ino: bigint
  ctimeNs: bigint
  size: bigint
}

/** Entry index -> its file's record; undefined when it had already changed at freeze time. */
export type Frozen = Map<number, Mark | undefined>

export async function freezeFiles(p: Prepared): Promise<Frozen> {
  const out: Frozen = new Map()
  for (const [i, f] of p.files) {
    const st = await lstat(f.abs, { bigint: true }).catch(() => undefined)
    out.set(i, st?.isFile() && st.ino === f.ino ? { ino: st.ino, ctimeNs: st.ctimeNs, size: st.size } : undefined)
  }
  return out
}

/** Opens entry `i`'s file for reading (an fd) if it is unchanged since freeze; otherwise refuses the piece. */
export function openFrozen(frozen: Frozen, p: Prepared, i: number, piece: number): number {
  const f = p.files.get(i)
  const name = quotePath(p.index.entries[i]?.path ?? Buffer.from('?'))
  const mark = frozen.get(i)
  if (!f || !mark) throw errors.inplaceChanged(piece, name, 'was changed')
  let fd: number
  try {
    fd = openSync(f.abs, C.O_RDONLY | C.O_NOFOLLOW)
  } catch {
    throw errors.inplaceChanged(piece, name, 'was removed or replaced')
  }
  const st = fstatSync(fd, { bigint: true })
  const what =
    st.ino !== mark.ino
      ? 'was replaced'
      : st.size !== mark.size
        ? 'changed size'
        : st.ctimeNs !== mark.ctimeNs
          ? 'was changed'
          : undefined
  if (what !== undefined) {
    closeSync(fd)
    throw errors.inplaceChanged(piece, name, what)
  }
  return fd
}
