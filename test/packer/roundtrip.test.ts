// Pack then extract with our own extractor: every attribute of every entry
// comes back: owners, setuid, sticky, mtimes, symlinks verbatim, hard links,
// devices, fifos, capability xattrs, a 1 GiB sparse file and a long path.
import { lstat, mkdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { extractArchive, openArchive } from '../../common/archive/index.ts'
import { isRoot, tempDir } from '../support/tmp.ts'
import { buildFullTree, CAP_NET_BIND, LONG_NAME, snapshot } from '../support/tree.ts'
import { importAndPack } from './helpers.ts'

describe.skipIf(!isRoot)('pack -> extract round trip (root)', () => {
  for (const compression of ['none', 'zstd'] as const) {
    it(`restores every attribute (${compression})`, async () => {
      const dir = await tempDir()
      const tree = join(dir, 'tree')
      await buildFullTree(tree)
      const res = await importAndPack(dir, tree, { compression })
      expect(res.stats.sparse).toBe(1)
      expect(res.stats.hardlinks).toBe(1)
      expect(res.stats.devices).toBe(2)
      expect(res.stats.fifos).toBe(1)
      // The 1 GiB hole costs nothing: the archive is about the 6.4 MB blob.
      expect(res.info.manifest.archive.size).toBeLessThan(8 << 20)

      const out = join(dir, 'out')
      await mkdir(out)
      await extractArchive(openArchive(res.info.archive), out)

      const want = await snapshot(tree)
      const got = await snapshot(out)
      expect([...got.keys()].sort()).toEqual([...want.keys()].sort())
      for (const [path, e] of want) expect(got.get(path), path).toEqual(e)

      // Spot checks that say what the snapshot comparison proves.
      const passwd = await stat(join(out, 'usr/bin/passwd'))
      expect(passwd.mode & 0o7777).toBe(0o4755)
      expect(passwd.uid).toBe(0)
      expect(got.get('usr/bin/ping')?.xattrs).toContain(`security.capability=${CAP_NET_BIND}`)
      expect(got.get('etc/abs-link')?.target).toBe('/usr/bin/passwd')
      expect(got.get('srv/data/a')?.links).toBe('srv/data/a,srv/data/b')
      expect(got.get(`opt/${LONG_NAME}`)?.type).toBe('file')
      const disk = await lstat(join(out, 'var/lib/disk.img'))
      expect(disk.size).toBe(1 << 30)
      expect(disk.blocks * 512).toBeLessThan(1 << 20)
    })
  }
})
