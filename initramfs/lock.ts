// One build at a time per cache folder: two builds sharing a cache would
// unpack packages into, and archive from, the same work tree at once. A lock
// file holds the owner's pid; a lock whose owner is dead (a killed build) is
// taken over. Our own pid is alive too: another build in this process holds it.
import { open, readFile, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'

const LOCK = '.build.lock'

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'
  }
}

export async function withCacheLock<T>(cache: string, say: (line: string) => void, fn: () => Promise<T>): Promise<T> {
  const file = join(cache, LOCK)
  let told = false
  for (;;) {
    try {
      const fh = await open(file, 'wx', 0o644)
      await fh.writeFile(`${process.pid}\n`)
      await fh.close()
      break
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e
    }
    const pid = Number.parseInt(await readFile(file, 'utf8').catch(() => ''), 10)
    if (Number.isInteger(pid) && pid > 0 && alive(pid)) {
      if (!told) say(`waiting for another boot build (pid ${pid}) that uses ${cache}`)
      told = true
      await sleep(500)
      continue
    }
    // No owner, a dead one, or a half-written file: take it over (the next open decides between racers).
    if (!Number.isInteger(pid) || pid <= 0) await sleep(200)
    await unlink(file).catch(() => undefined)
  }
  try {
    return await fn()
  } finally {
    await unlink(file).catch(() => undefined)
  }
}
