// Pieces of a real archive written in shuffled order straight into their
// files must give exactly the tree the safe extractor gives from the same
// archive, and the store must give back the archive's bytes exactly.
import { lstat, mkdir, utimes } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { checkArchiveAgainstIndex, WORK_DIR } from '../../client/swarm/inplace/index.ts'
import { extractArchive, openArchive } from '../../common/archive/index.ts'
import { isRoot, tempDir } from '../support/tmp.ts'
import { buildFullTree } from '../support/tree.ts'
import { addExtras, buildIndex, feed, packTree, pieceOf, sha256Of, walk } from './helpers.ts'

/** A target and the extractor's reference, each with a lost+found as mkfs leaves it. */
async function targets(dir: string): Promise<{ ref: string; target: string }> {
  const ref = join(dir, 'ref')
  const target = join(dir, 'target')
  for (const d of [ref, target]) {
    await mkdir(join(d, 'lost+found'), { recursive: true, mode: 0o700 })
    await utimes(join(d, 'lost+found'), 1e9, 1e9)
  }
  return { ref, target }
}

describe.skipIf(!isRoot)('in-place store (root)', () => {
  it('installs pieces in shuffled order exactly as the safe extractor does', async () => {
    const dir = await tempDir()
    const tree = join(dir, 'tree')
    await buildFullTree(tree, { sparseSize: 64 << 20 })
    await addExtras(tree)
    const p = await packTree(dir, tree)
    const index = await buildIndex(p.archive)
    const { ref, target } = await targets(dir)
    await extractArchive(openArchive(p.archive), ref)

    const t = await feed(p, index, target)
    expect(t.missing).toBe(0)
    await t.finalize()

    // Every piece, and sub-ranges of some, come back byte for byte.
    for (let i = 0; i < t.pieceCount; i++) {
      const want = await pieceOf(p.archive, p.pieceLength, p.size, i)
      expect((await t.readPiece(i)).equals(want), `piece ${i}`).toBe(true)
      if (i % 7 === 0 && want.length > 100) {
        expect((await t.readPiece(i, 33, 67)).equals(want.subarray(33, 100))).toBe(true)
      }
    }
    expect(await sha256Of(t.readArchive())).toBe(p.sha256)
    const check = await checkArchiveAgainstIndex(t.readArchive(), index)
    expect(check).toEqual({ sha256: p.sha256, bytes: p.size, entries: index.entries.length })

    await t.cleanup()
    await expect(lstat(join(target, WORK_DIR))).rejects.toThrow()
    const want = await walk(ref)
    const got = await walk(target)
    expect([...got.keys()].sort()).toEqual([...want.keys()].sort())
    for (const [k, v] of want) expect(got.get(k), k).toBe(v)

    // What the comparison covers, spelled out.
    expect(want.get('usr/bin/passwd')).toMatch(/mode=104755 owner=0:0/)
    expect(want.get('usr/bin/ping')).toMatch(/security\.capability=0x01000002/)
    expect(want.get('srv/data/b')).toMatch(/links=srv\/data\/a,srv\/data\/b/)
    expect(want.get('dev/tty9')).toMatch(/node mode=20620/)
    expect(want.get('var/lib/disk.img')).toMatch(/size=67108864 .* blocks~[0-9] /)
    expect(want.has(Buffer.from('bytes-\xff\xfe-name', 'latin1').toString('latin1'))).toBe(true)
  })

  it('checkArchiveAgainstIndex refuses an index that disagrees with the archive', async () => {
    const dir = await tempDir()
    const tree = join(dir, 'tree')
    await mkdir(join(tree, 'etc'), { recursive: true })
    const { writeFile } = await import('node:fs/promises')
    await writeFile(join(tree, 'etc/a'), 'a'.repeat(40000))
    await writeFile(join(tree, 'etc/b'), 'b')
    const p = await packTree(dir, tree)
    const index = await buildIndex(p.archive)
    const t = await feed(p, index, join(dir, 'target'))
    const entry = index.entries.findIndex((e) => e.path.toString().endsWith('etc/b'))
    const mutations: [string, (i: typeof index) => void][] = [
      ['mode', (i) => Object.assign(i.entries[entry] as object, { mode: 0o600 })],
      ['path', (i) => Object.assign(i.entries[entry] as object, { path: Buffer.from('./etc/c') })],
      ['extent', (i) => Object.assign(i.entries[entry]?.extents[0] as object, { fileOffset: 1 })],
      ['missing entry', (i) => void i.entries.pop()],
    ]
    for (const [what, mutate] of mutations) {
      const bad = structuredClone(index)
      bad.entries.forEach((e, k) => {
        // structuredClone turns Buffers into Uint8Arrays.
        const o = index.entries[k] as (typeof index.entries)[number]
        Object.assign(e, { path: o.path, linkpath: o.linkpath, xattrs: o.xattrs })
      })
      mutate(bad)
      await expect(checkArchiveAgainstIndex(t.readArchive(), bad), what).rejects.toMatchObject({
        code: 'IMGSWARM_ERR_INPLACE_ARCHIVE_MISMATCH',
      })
    }
    await t.close()
  })
})
