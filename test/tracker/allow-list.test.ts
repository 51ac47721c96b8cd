// The allow-list file is re-read on change: no restart to add an image.
import { rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { isImgswarmError } from '../../common/errors.ts'
import { fileAllowList, parseAllowList, setAllowList } from '../../tracker/index.ts'
import { tempDir } from '../support/tmp.ts'
import { announce, cleanup, failure, hash, quietLogger, startTracker } from './helpers.ts'

const A = hash(0xa1)
const B = hash(0xb2)

/** Resolves at the next reload whose count satisfies `want`. */
function reloads() {
  const waiters: { want: (n: number) => boolean; resolve: () => void }[] = []
  return {
    onReload(n: number) {
      for (const w of [...waiters])
        if (w.want(n)) {
          waiters.splice(waiters.indexOf(w), 1)
          w.resolve()
        }
    },
    until(want: (n: number) => boolean) {
      return new Promise<void>((resolve) => waiters.push({ want, resolve }))
    },
  }
}

describe('allow-list', () => {
  it('parses hashes, comments and blank lines, and reports bad lines', () => {
    const r = parseAllowList(`# images\n${A.toUpperCase()}  # base@1\n\n  ${B}\nnot-a-hash\n${A.slice(2)}\n`)
    expect([...r.hashes]).toEqual([A, B])
    expect(r.bad.map((b) => b.line)).toEqual([5, 6])
  })

  it('in memory: add and delete, case-insensitive, rejects malformed hashes', () => {
    const s = setAllowList([A])
    expect(s.has(A.toUpperCase())).toBe(true)
    s.add(B)
    s.delete(A)
    expect([s.has(A), s.has(B)]).toEqual([false, true])
    expect(() => s.add('xyz')).toThrow(/40 hexadecimal/)
  })

  it('a missing file is a clear usage error at start', async () => {
    const dir = await tempDir()
    const list = fileAllowList(join(dir, 'nope.txt'), { logger: await quietLogger() })
    const e = await list.start().catch((err: unknown) => err)
    expect(isImgswarmError(e, 'IMGSWARM_ERR_USAGE')).toBe(true)
  })

  it('adding a hash to the file admits it without a restart; removing it refuses it again', async () => {
    const dir = await tempDir()
    const file = join(dir, 'allow.txt')
    await writeFile(file, `${A}\n`)
    const r = reloads()
    const list = fileAllowList(file, { logger: await quietLogger(), onReload: r.onReload, pollMs: 100 })
    cleanup(() => list.stop())
    await list.start()
    const t = await startTracker({ allow: list })
    const port = t.httpPort as number

    expect(failure(await announce(port, { infoHash: A, peer: 1, port: 6001 }))).toBeUndefined()
    expect(failure(await announce(port, { infoHash: B, peer: 1, port: 6001 }))).toMatch(/unknown info hash/)

    let seen = r.until((n) => n === 2)
    await writeFile(file, `${A}\n${B} # added\n`)
    await seen
    expect(failure(await announce(port, { infoHash: B, peer: 2, port: 6002 }))).toBeUndefined()

    // Replaced by rename, as editors and `mv` do: a new inode.
    seen = r.until((n) => n === 1)
    await writeFile(join(dir, 'allow.tmp'), `${A}\n`)
    await rename(join(dir, 'allow.tmp'), file)
    await seen
    expect(failure(await announce(port, { infoHash: B, peer: 3, port: 6003 }))).toMatch(/unknown info hash/)
    expect(list.size).toBe(1)
  })

  it('keeps the previous list while the file is briefly missing', async () => {
    const dir = await tempDir()
    const file = join(dir, 'allow.txt')
    await writeFile(file, `${A}\n`)
    const r = reloads()
    const list = fileAllowList(file, { logger: await quietLogger(), onReload: r.onReload, pollMs: 100 })
    cleanup(() => list.stop())
    await list.start()
    await rm(file)
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(list.has(A)).toBe(true)
    const seen = r.until((n) => n === 2)
    await writeFile(file, `${A}\n${B}\n`)
    await seen
    expect(list.has(B)).toBe(true)
  })
})
