// The same tree gives a byte-identical archive and the same info hash, even
// when its files were created in another order, at another time, elsewhere.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { isRoot, tempDir } from '../support/tmp.ts'
import { buildFullTree } from '../support/tree.ts'
import { importAndPack } from './helpers.ts'

describe.skipIf(!isRoot)('packer determinism', () => {
  for (const compression of ['none', 'zstd'] as const) {
    it(`packs the same tree to the same bytes (${compression})`, async () => {
      const dir = await tempDir()
      await buildFullTree(join(dir, 'a'), { sparseSize: 64 << 20 })
      await buildFullTree(join(dir, 'b'), { sparseSize: 64 << 20, reverse: true })
      const a = await importAndPack(join(dir, 'sa'), join(dir, 'a'), { compression })
      const b = await importAndPack(join(dir, 'sb'), join(dir, 'b'), { compression })
      expect(b.info.manifest.torrent.infoHash).toBe(a.info.manifest.torrent.infoHash)
      expect(b.info.manifest.archive.sha256).toBe(a.info.manifest.archive.sha256)
      expect((await readFile(b.info.archive)).equals(await readFile(a.info.archive))).toBe(true)
      expect((await readFile(b.info.torrent)).equals(await readFile(a.info.torrent))).toBe(true)
    })
  }

  it('gives a different archive when one byte of one file changes', async () => {
    const dir = await tempDir()
    await buildFullTree(join(dir, 'a'), { sparseSize: 1 << 20 })
    await buildFullTree(join(dir, 'b'), { sparseSize: 1 << 20 })
    const { writeFile } = await import('node:fs/promises')
    await writeFile(join(dir, 'b/srv/data/a'), 'hard linked contenT\n')
    const a = await importAndPack(join(dir, 'sa'), join(dir, 'a'))
    const b = await importAndPack(join(dir, 'sb'), join(dir, 'b'))
    expect(b.info.manifest.torrent.infoHash).not.toBe(a.info.manifest.torrent.infoHash)
  })
})
