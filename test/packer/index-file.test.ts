// The packer writes NAME@VER.index.json next to an uncompressed archive and
// lists it in the signed manifest; zstd archives get none.
import { createHash } from 'node:crypto'
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { validateManifest } from '../../common/manifest.ts'
import { parseIndex } from '../../common/tarindex/index.ts'
import { tempDir } from '../support/tmp.ts'
import { importAndPack } from './helpers.ts'

async function tree(dir: string): Promise<string> {
  const t = join(dir, 'tree')
  await mkdir(join(t, 'etc'), { recursive: true })
  await writeFile(join(t, 'etc/hostname'), 'golden\n')
  await writeFile(join(t, 'blob'), Buffer.alloc(1 << 20, 7))
  return t
}

describe('pack: archive index', () => {
  it('writes the index beside the archive and signs its hash in the manifest', async () => {
    const dir = await tempDir()
    const res = await importAndPack(dir, await tree(dir))
    const m = res.info.manifest
    expect(m.index?.file).toBe('img@1.index.json')
    expect(res.info.index).toBe(join(res.store.packedDir('image'), 'img@1.index.json'))
    const bytes = await readFile(res.info.index as string)
    expect(m.index).toEqual({
      file: 'img@1.index.json',
      size: bytes.length,
      sha256: createHash('sha256').update(bytes).digest('hex'),
    })
    const index = parseIndex(bytes, { archiveSize: m.archive.size, maxBytes: bytes.length })
    expect(index.entries.map((e) => e.path.toString())).toEqual(['./', './blob', './etc/', './etc/hostname'])
    // remove takes the index with it
    await res.store.remove('image', 'img', '1')
    await expect(stat(res.info.index as string)).rejects.toMatchObject({ code: 'ENOENT' })
  })

  it('gives a zstd archive no index', async () => {
    const dir = await tempDir()
    const res = await importAndPack(dir, await tree(dir), { compression: 'zstd' })
    expect(res.info.manifest.index).toBeUndefined()
    expect(res.info.index).toBeUndefined()
    await expect(stat(`${res.store.packedBase('image', 'img', '1')}.index.json`)).rejects.toMatchObject({
      code: 'ENOENT',
    })
  })
})

describe('validateManifest: the index record', () => {
  const base = () => ({
    schema: 'imgswarm/manifest@1',
    kind: 'image',
    name: 'img',
    version: '1',
    archive: { file: 'img@1.tar', size: 10240, sha256: 'a'.repeat(64), compression: 'none' },
    index: { file: 'img@1.index.json', size: 300, sha256: 'b'.repeat(64) },
    torrent: { infoHash: 'c'.repeat(40), pieceLength: 16384, pieces: 1 },
    tree: { entries: 1, files: 0, bytes: 0 },
    createdAt: '2026-11-22T00:00:00.000Z',
    packer: 'imgswarm/0.1.0',
  })

  it('accepts a manifest with and without one', () => {
    expect(validateManifest(base(), 'm').index?.size).toBe(300)
    const { index: _, ...without } = base()
    expect(validateManifest(without, 'm').index).toBeUndefined()
  })

  it.each<[string, (m: ReturnType<typeof base>) => void, RegExp]>([
    ['an unknown field', (m) => Object.assign(m.index, { url: 'x' }), /index\.url: unknown field/],
    ['a path as file', (m) => Object.assign(m.index, { file: '../x.index.json' }), /index\.file/],
    ['another file suffix', (m) => Object.assign(m.index, { file: 'img@1.tar' }), /index\.file/],
    ['a zero size', (m) => Object.assign(m.index, { size: 0 }), /index\.size/],
    ['a fractional size', (m) => Object.assign(m.index, { size: 1.5 }), /index\.size/],
    ['a short sha256', (m) => Object.assign(m.index, { sha256: 'ab' }), /index\.sha256/],
    ['not an object', (m) => Object.assign(m, { index: 'img@1.index.json' }), /index must be an object/],
    ['null', (m) => Object.assign(m, { index: null }), /index must be an object/],
    ['a zstd archive', (m) => Object.assign(m.archive, { compression: 'zstd' }), /only allowed for uncompressed/],
  ])('refuses %s', (_what, mutate, want) => {
    const m = base()
    mutate(m)
    expect(() => validateManifest(m, 'm')).toThrow(
      expect.objectContaining({ code: 'IMGSWARM_ERR_MANIFEST_INVALID', message: expect.stringMatching(want) }),
    )
  })
})
