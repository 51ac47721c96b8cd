// Finding programs: the first executable of a name in a list of directories.
import { constants } from 'node:fs'
import { access } from 'node:fs/promises'
import { join } from 'node:path'

export async function firstExecutable(dirs: string[], tool: string): Promise<string | undefined> {
  for (const d of dirs) {
    const p = join(d, tool)
    const ok = await access(p, constants.X_OK).then(
      () => true,
      () => false,
    )
    if (ok) return p
  }
  return undefined
}
