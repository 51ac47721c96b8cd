// Delta archives (docs/node-update.md): built from two real image versions in
// a real store (rsync, packer), cached, then extracted with the safe extractor
// and applied over a copy of v1. The result equals v2 (deletions, changed
// content, a metadata-only change, symlinks, hard links), except where the
// exclude list says to keep the node's own files.
import { spawnSync } from 'node:child_process'
import { chmod, link, mkdir, rm, symlink, utimes, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { applyDelta, type DeltaDoc } from '../../client/agent/apply.ts'
import { BUILTIN_EXCLUDES, compileExcludes, parseExcludeFile } from '../../client/agent/exclude.ts'
import { extractArchive, openArchive } from '../../common/archive/index.ts'
import { packVersion, Store } from '../../seeder/index.ts'
import { buildDelta, DELTA_FILE } from '../../seeder/update/build.ts'
import { noise } from '../install/harness.ts'
import { describeTree, diffTrees } from '../install/tree.ts'
import { isRoot, tempDir } from '../support/tmp.ts'

async function v1(root: string) {
  for (const d of ['etc', 'usr/lib', 'old/sub', 'srv/data']) await mkdir(join(root, d), { recursive: true })
  await writeFile(join(root, 'etc/motd'), 'v1\n')
  await writeFile(join(root, 'etc/local.conf'), 'image default\n')
  await writeFile(join(root, 'usr/lib/big'), noise(4 << 20, 'big'))
  await writeFile(join(root, 'usr/lib/lib.so'), noise(64 << 10, 'lib1'))
  await link(join(root, 'usr/lib/lib.so'), join(root, 'usr/lib/lib.so.1'))
  await writeFile(join(root, 'usr/lib/tool'), '#!/bin/sh\n', { mode: 0o755 })
  await writeFile(join(root, 'old/sub/gone'), 'bye\n')
  await symlink('motd', join(root, 'etc/link'))
  await writeFile(join(root, 'srv/data/keep'), 'node data\n')
}

describe.runIf(isRoot)('delta archives', () => {
  it('carries only the changes, deletions included, and applies to exactly v2 outside the excludes', async () => {
    const dir = await tempDir('imgswarm-delta-')
    const store = new Store(join(dir, 'store'))
    const t1 = join(dir, 't1')
    await v1(t1)
    await store.import('image', t1, 'base@1')
    // v2 (6 changed: motd, local.conf, link, lib.so and its hard link, and etc/ whose time moved): a changed file, a new file, a deleted tree, a changed link target, new hard-link content,
    // a mode-only change, and an excluded file changed.
    const t2 = join(dir, 't2')
    spawnSync('cp', ['-a', t1, t2])
    await writeFile(join(t2, 'etc/motd'), 'v2\n')
    await writeFile(join(t2, 'etc/new'), 'new in v2\n')
    await writeFile(join(t2, 'etc/local.conf'), 'image v2 default\n')
    await rm(join(t2, 'old'), { recursive: true })
    await rm(join(t2, 'etc/link'))
    await symlink('new', join(t2, 'etc/link'))
    await writeFile(join(t2, 'usr/lib/lib.so'), noise(64 << 10, 'lib2'))
    await chmod(join(t2, 'usr/lib/tool'), 0o700)
    await utimes(join(t2, 'usr/lib/tool'), 1_700_000_000, 1_700_000_000)
    await store.import('image', t2, 'base@2')

    const o = { publicUrl: 'http://127.0.0.1:1', compression: 'none' as const }
    const built = await buildDelta(store, 'base', '1', '2', o)
    expect(built.built).toBe(true)
    expect(built.doc).toMatchObject({ added: 1, changed: 6, meta: [{ path: 'usr/lib/tool', mode: 0o700 }] })
    expect(built.doc.deleted).toEqual(['old/sub/gone', 'old/sub', 'old'])
    // The big unchanged file does not travel.
    const archiveSize = built.info.manifest.archive.size
    expect(archiveSize).toBeLessThan(512 * 1024)
    expect(built.info.manifest.kind).toBe('delta')
    // Cached: the second request builds nothing.
    const again = await buildDelta(store, 'base', '1', '2', o)
    expect(again.built).toBe(false)
    expect(again.info.manifest.archive.sha256).toBe(built.info.manifest.archive.sha256)

    // The node: a copy of v1 with a file of its own in an excluded tree and a local change.
    const node = join(dir, 'node')
    spawnSync('cp', ['-a', t1, node])
    await writeFile(join(node, 'etc/local.conf'), 'node edit\n')
    const stage = join(dir, 'stage')
    await mkdir(stage)
    await extractArchive(openArchive(built.info.archive), stage, {})
    const doc = JSON.parse(
      await import('node:fs/promises').then((f) => f.readFile(join(stage, DELTA_FILE), 'utf8')),
    ) as DeltaDoc
    const ex = compileExcludes([...BUILTIN_EXCLUDES, ...parseExcludeFile('# local\n/etc/local.conf\n', 'x')])
    const r = await applyDelta(node, stage, doc, ex)
    expect(r.deleted).toBe(3)
    expect(r.excluded).toBeGreaterThanOrEqual(1)
    const skip = new Set(['etc/local.conf'])
    expect(diffTrees(await describeTree(t2, skip), await describeTree(node, skip))).toEqual([])
    expect(await import('node:fs/promises').then((f) => f.readFile(join(node, 'etc/local.conf'), 'utf8'))).toBe(
      'node edit\n',
    )
    const image = await packVersion(store, 'image', 'base@2', {
      ...o,
      announce: ['http://127.0.0.1:1/announce'],
      webseeds: [],
    })
    const imageSize = image.info.manifest.archive.size
    expect(archiveSize * 10).toBeLessThan(imageSize)
    process.stdout.write(`delta base@1 -> base@2: ${archiveSize} bytes; the image archive: ${imageSize} bytes\n`)
  }, 120_000)
})
