// A 1 GiB sparse file must not inflate the archive.
import { mkdir, open, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { listArchive, openArchive } from '../../common/archive/index.ts'
import { tempDir } from '../support/tmp.ts'
import { importAndPack } from './helpers.ts'

describe('sparse files', () => {
  for (const compression of ['none', 'zstd'] as const) {
    it(`stores a 1 GiB file with two small data islands in a few KiB (${compression})`, async () => {
      const dir = await tempDir()
      const tree = join(dir, 'tree')
      await mkdir(tree)
      const fh = await open(join(tree, 'disk.img'), 'w')
      await fh.write(Buffer.from('head'), 0, undefined, 0)
      await fh.write(Buffer.alloc(8192, 0xab), 0, undefined, 700 << 20)
      await fh.truncate(1 << 30)
      await fh.close()
      expect((await stat(join(tree, 'disk.img'))).blocks * 512).toBeLessThan(1 << 20)
      const res = await importAndPack(dir, tree, { compression })
      expect(res.info.manifest.archive.size).toBeLessThan(64 * 1024)
      const entries = []
      for await (const e of listArchive(openArchive(res.info.archive))) entries.push(e)
      const f = entries.find((e) => e.path.toString() === './disk.img')
      expect(f?.sparse?.realsize).toBe(1 << 30)
      expect(f?.sparse?.map.reduce((a, s) => a + s.size, 0)).toBe(4096 + 8192)
    })
  }
})
