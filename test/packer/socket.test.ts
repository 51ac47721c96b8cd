// Sockets cannot be archived: the packer skips them and says so.
import { mkdir, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { listArchive, openArchive } from '../../common/archive/index.ts'
import { packVersion, Store } from '../../seeder/index.ts'
import { tempDir } from '../support/tmp.ts'

describe('sockets', () => {
  it('are skipped with a warning and listed in the stats', async () => {
    const dir = await tempDir()
    const tree = join(dir, 'tree')
    await mkdir(join(tree, 'run'), { recursive: true })
    await writeFile(join(tree, 'run/keep'), 'x')
    const sock = createServer()
    await new Promise<void>((r) => sock.listen(join(tree, 'run/daemon.sock'), r))
    try {
      const store = new Store(join(dir, 'store'))
      const v = await store.import('image', tree, 'img')
      const warnings: string[] = []
      const res = await packVersion(store, 'image', v.ref, {
        compression: 'none',
        announce: ['http://127.0.0.1:1/announce'],
        webseeds: [],
        onWarning: (w) => warnings.push(w),
      })
      expect(res.stats.skipped).toEqual(['./run/daemon.sock'])
      expect(warnings.join('\n')).toMatch(/skipping socket .*daemon\.sock/)
      const paths: string[] = []
      for await (const e of listArchive(openArchive(res.info.archive))) paths.push(e.path.toString())
      expect(paths).toEqual(['./', './run/', './run/keep'])
    } finally {
      await new Promise<void>((r) => sock.close(() => r()))
    }
  })
})
