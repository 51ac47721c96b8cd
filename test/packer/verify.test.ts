// `verify` accepts what pack wrote and refuses every kind of tampering.
import { generateKeyPairSync } from 'node:crypto'
import { open, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { loadPublicKey, verifyPacked } from '../../seeder/index.ts'
import { tempDir } from '../support/tmp.ts'
import { importAndPack } from './helpers.ts'

async function packed() {
  const dir = await tempDir()
  const tree = join(dir, 'tree')
  const { mkdir } = await import('node:fs/promises')
  await mkdir(tree)
  await writeFile(join(tree, 'a'), Buffer.alloc(3 << 20, 1))
  await writeFile(join(tree, 'b'), 'bee\n')
  const res = await importAndPack(dir, tree)
  const pub = await loadPublicKey(join(res.store.keysDir, 'manifest-signing.pub'))
  return { ...res, pub }
}

describe('verify', () => {
  it('passes an untouched pack', async () => {
    const p = await packed()
    const rep = await verifyPacked(p.info, p.pub)
    expect(rep.manifest.archive.sha256).toMatch(/^[0-9a-f]{64}$/)
    expect(rep.checks).toHaveLength(5)
    expect(rep.checks[4]).toMatch(/^archive index SHA-256 [0-9a-f]{64} matches \(3 entries\)$/)
  })

  it('refuses an archive index changed after signing', async () => {
    const p = await packed()
    const file = p.info.index as string
    const text = await readFile(file, 'utf8')
    // Same length, still a valid index in itself: only the signed hash can tell.
    await writeFile(file, text.replace('"m":420', '"m":416'))
    expect(await readFile(file, 'utf8')).not.toBe(text)
    await expect(verifyPacked(p.info, p.pub)).rejects.toMatchObject({
      code: 'IMGSWARM_ERR_CHECKSUM',
      message: expect.stringMatching(/index\.json: SHA-256/),
    })
  })

  it('refuses a missing archive index', async () => {
    const p = await packed()
    await rm(p.info.index as string)
    await expect(verifyPacked(p.info, p.pub)).rejects.toMatchObject({
      code: 'IMGSWARM_ERR_CHECKSUM',
      message: expect.stringMatching(/archive index missing/),
    })
  })

  it('refuses an archive with one flipped byte', async () => {
    const p = await packed()
    const fh = await open(p.info.archive, 'r+')
    const b = Buffer.alloc(1)
    await fh.read(b, 0, 1, 2 << 20)
    b[0] = (b[0] as number) ^ 0xff
    await fh.write(b, 0, 1, 2 << 20)
    await fh.close()
    await expect(verifyPacked(p.info, p.pub)).rejects.toMatchObject({ code: 'IMGSWARM_ERR_CHECKSUM' })
  })

  it('refuses a manifest edited after signing', async () => {
    const p = await packed()
    const m = JSON.parse(await readFile(p.info.manifestFile, 'utf8'))
    m.archive.sha256 = 'f'.repeat(64)
    await writeFile(p.info.manifestFile, JSON.stringify(m, null, 2))
    await expect(verifyPacked(p.info, p.pub)).rejects.toMatchObject({ code: 'IMGSWARM_ERR_MANIFEST_SIGNATURE' })
  })

  it('refuses a manifest when another key is pinned', async () => {
    const p = await packed()
    const other = generateKeyPairSync('ed25519').publicKey
    await expect(verifyPacked(p.info, other)).rejects.toMatchObject({ code: 'IMGSWARM_ERR_MANIFEST_SIGNATURE' })
  })

  it('refuses a torrent whose pieces do not match the archive', async () => {
    const p = await packed()
    const t = await readFile(p.info.torrent)
    const i = t.indexOf('6:pieces') + '6:pieces'.length
    const colon = t.indexOf(':', i)
    t[colon + 5] = (t[colon + 5] as number) ^ 1
    await writeFile(p.info.torrent, t)
    await expect(verifyPacked(p.info, p.pub)).rejects.toMatchObject({ code: 'IMGSWARM_ERR_CHECKSUM' })
  })
})
