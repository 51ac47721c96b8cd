// Boot builds sharing a cache folder run one at a time; a dead owner's lock is taken over.
import { spawnSync } from 'node:child_process'
import { readdir, unlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { describe, expect, it } from 'vitest'
import { withCacheLock } from '../../initramfs/index.ts'
import { tempDir } from '../support/tmp.ts'

describe('boot build cache lock', () => {
  it('runs two builds on one cache one after the other, and says who it waits for', async () => {
    const cache = await tempDir()
    const log: string[] = []
    const said: string[] = []
    const job = (name: string) => async () => {
      log.push(`${name} start`)
      await sleep(300)
      log.push(`${name} end`)
      return name
    }
    const a = withCacheLock(cache, (l) => said.push(l), job('a'))
    await sleep(50)
    const b = withCacheLock(cache, (l) => said.push(l), job('b'))
    expect(await Promise.all([a, b])).toEqual(['a', 'b'])
    expect(log).toEqual(['a start', 'a end', 'b start', 'b end'])
    expect(said).toEqual([`waiting for another boot build (pid ${process.pid}) that uses ${cache}`])
    expect(await readdir(cache)).toEqual([])
  })

  it('waits for a live owner in another process, takes over the lock of a dead one', async () => {
    const cache = await tempDir()
    const said: string[] = []
    // A live owner (this test's parent process), which releases the lock after a while.
    const owner = process.ppid
    const lock = join(cache, '.build.lock')
    await writeFile(lock, `${owner}\n`)
    let released = false
    setTimeout(() => void unlink(lock).then(() => (released = true)), 700)
    const ranAfterRelease = await withCacheLock(
      cache,
      (l) => said.push(l),
      async () => released,
    )
    expect(ranAfterRelease).toBe(true)
    expect(said[0]).toContain(`pid ${owner}`)
    // A dead owner: a pid that has exited.
    const dead = spawnSync('sh', ['-c', 'echo $$']).stdout.toString().trim()
    await writeFile(join(cache, '.build.lock'), `${dead}\n`)
    expect(
      await withCacheLock(
        cache,
        () => undefined,
        async () => 'ran',
      ),
    ).toBe('ran')
  })
})
