// Hostile indexes (one test per attack): whatever the index says, nothing is
// created outside the target, nothing through a symlink, and pieces never
// land outside a file. The archives are built in memory with our encoder.
import { readdir } from 'node:fs/promises'
import { describe, expect, it } from 'vitest'
import { prepareInPlace } from '../../client/swarm/inplace/index.ts'
import type { ArchiveIndex, Extent } from '../../common/tarindex/types.ts'
import { type RawEntry, rawTar, rejectsWith, sandbox } from '../archive/helpers.ts'
import { isRoot } from '../support/tmp.ts'
import { buildIndex } from './helpers.ts'

const dir = (path: string): RawEntry => ({ path, type: 'directory', mode: 0o755 })
const file = (path: string, data = 'x'): RawEntry => ({ path, data: Buffer.from(data) })

async function refuses(index: ArchiveIndex, code: string): Promise<void> {
  const box = await sandbox()
  await rejectsWith(
    prepareInPlace({ index, targetDir: box.target, pieceLength: 16384, infoHash: 'aa'.repeat(20) }),
    code,
  )
  await box.assertUntouched()
  // Every check runs before anything is written.
  expect(await readdir(box.target)).toEqual([])
}

const extent = (i: ArchiveIndex, n: number) => i.entries[n]?.extents[0] as Extent

const indexOf = (entries: RawEntry[]) => buildIndex(rawTar(entries))

describe.skipIf(!isRoot)('hostile indexes (root)', () => {
  it('refuses ../ paths', async () => {
    await refuses(await indexOf([dir('./'), file('./../outside/victim')]), 'IMGSWARM_ERR_PATH_ESCAPE')
  })

  it('refuses absolute paths', async () => {
    await refuses(await indexOf([file('/etc/passwd')]), 'IMGSWARM_ERR_PATH_ESCAPE')
  })

  it('refuses a file under a symlink entry (symlinks only exist after finalize)', async () => {
    const idx = await indexOf([
      { path: './link', type: 'symlink', linkpath: Buffer.from('../outside') },
      file('./link/victim'),
    ])
    await refuses(idx, 'IMGSWARM_ERR_PATH_THROUGH_SYMLINK')
  })

  it('refuses a file under a file entry', async () => {
    await refuses(await indexOf([file('./a'), file('./a/b')]), 'IMGSWARM_ERR_PATH_THROUGH_SYMLINK')
  })

  it('refuses hard links to outside, to later entries and to themselves', async () => {
    const link = (path: string, to: string): RawEntry => ({ path, type: 'link', linkpath: Buffer.from(to) })
    await refuses(await indexOf([link('./l', '../outside/secret')]), 'IMGSWARM_ERR_HARDLINK')
    await refuses(await indexOf([link('./l', './later'), file('./later')]), 'IMGSWARM_ERR_HARDLINK')
    await refuses(await indexOf([link('./l', './l')]), 'IMGSWARM_ERR_HARDLINK')
    await refuses(await indexOf([dir('./d/'), link('./l', './d')]), 'IMGSWARM_ERR_HARDLINK')
  })

  it('refuses duplicate paths and the reserved work folder', async () => {
    await refuses(await indexOf([file('./a'), file('./a')]), 'IMGSWARM_ERR_INPLACE_INDEX')
    await refuses(await indexOf([file('./.imgswarm-install/pieces')]), 'IMGSWARM_ERR_INPLACE_RESERVED')
  })

  it('refuses extents outside the file, outside the entry or overlapping', async () => {
    const base = await indexOf([file('./a', 'a'.repeat(1000)), file('./b', 'b'.repeat(10))])
    const cases: [string, (i: ArchiveIndex) => void][] = [
      ['past the file size', (i) => Object.assign(extent(i, 0), { fileOffset: 1 })],
      ['into the next header', (i) => Object.assign(extent(i, 0), { length: 1600 })],
      ['over its own header', (i) => Object.assign(extent(i, 1), { archiveOffset: extent(i, 1).archiveOffset - 512 })],
      ['past the archive', (i) => Object.assign(i, { archiveSize: 1024 })],
      ['on a directory', (i) => Object.assign(i.entries[1] as object, { type: 'directory' })],
    ]
    for (const [what, mutate] of cases) {
      const bad: ArchiveIndex = {
        archiveSize: base.archiveSize,
        entries: base.entries.map((e) => ({ ...e, extents: e.extents.map((x) => ({ ...x })) })),
      }
      mutate(bad)
      await expect(refuses(bad, 'IMGSWARM_ERR_INPLACE_INDEX'), what).resolves.toBeUndefined()
    }
  })
})
