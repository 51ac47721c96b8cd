// fetchVerifiedPlan and the archive index, against a real `serve`: the index
// is fetched, checked against the signed manifest's hash and parsed; a wrong
// one stops the install before anything else happens.
import { appendFile, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { type ClientConfig, fetchVerifiedPlan, loadPubkey } from '../../client/index.ts'
import { isImgswarmError } from '../../common/errors.ts'
import { planLayout } from '../../common/plan.ts'
import { packedStore, type Running, startServe } from '../serve/harness.ts'
import { tempDir } from '../support/tmp.ts'

const running: Running[] = []
afterEach(async () => {
  for (const r of running.splice(0)) await r.stop()
})

const PLANS = '[defaults]\nimage = "img"\npost = "none"\n\n[[node]]\nhostname = "node001"\n'

async function setup(plans = PLANS, files: Record<string, string> = {}) {
  const dir = await tempDir()
  const p = await packedStore(dir, 1)
  await writeFile(join(p.store.root, 'plans.toml'), plans)
  for (const [name, text] of Object.entries(files)) await writeFile(join(p.store.root, name), text)
  const r = await startServe(p.store)
  running.push(r)
  const cfg: ClientConfig = {
    server: r.url,
    pubkey: loadPubkey(join(p.store.root, 'keys', 'manifest-signing.pub'), 'test'),
    hostname: 'node001',
    debug: false,
    retry: { attempts: 2, maxDelayMs: 50 },
    warnings: [],
  }
  return { ...p, r, cfg, indexFile: `${p.store.packedBase('image', 'img', '1')}.index.json` }
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p
  } catch (e) {
    return isImgswarmError(e) ? `${e.code}: ${e.message}` : `not coded: ${String(e)}`
  }
  return 'resolved'
}

describe('fetchVerifiedPlan: the archive index', () => {
  it('fetches, checks and parses the index of an uncompressed image', async () => {
    const s = await setup()
    const lines: string[] = []
    const v = await fetchVerifiedPlan(s.cfg, { onStatus: (m) => lines.push(m) })
    expect(v.plan.image.index).toBe('/api/v1/images/img/1/index')
    const index = v.image.index
    expect(index?.archiveSize).toBe(v.image.manifest.archive.size)
    const entries = index ? Array.from({ length: index.length }, (_, i) => index.entry(i)) : []
    expect(entries.map((e) => e.path.toString())).toEqual([
      './',
      './blob0',
      './blob1',
      './blob2',
      './etc/',
      './etc/hostname',
    ])
    // Every extent of every file is inside the archive the torrent describes.
    for (const e of entries) {
      for (const x of e.extents) expect(x.archiveOffset + x.length).toBeLessThanOrEqual(v.image.torrentInfo.length)
    }
    expect(lines.some((l) => /archive index verified \(6 entries\)/.test(l))).toBe(true)
  })

  it('refuses an index changed on the server, before anything else happens', async () => {
    const s = await setup()
    const text = await readFile(s.indexFile, 'utf8')
    await writeFile(s.indexFile, text.replace('"m":420', '"m":416'))
    expect(await codeOf(fetchVerifiedPlan(s.cfg))).toMatch(
      /^IMGSWARM_ERR_CHECKSUM: .*index: the archive index's SHA-256 [0-9a-f]+ differs from the signed manifest's/,
    )
  })

  it('refuses an index longer than the signed size without reading it all', async () => {
    const s = await setup()
    await appendFile(s.indexFile, Buffer.alloc(1 << 20, 0x20))
    expect(await codeOf(fetchVerifiedPlan(s.cfg))).toMatch(/^IMGSWARM_ERR_BAD_RESPONSE: .*exceeds the limit of/)
  })

  it('passes the layout of plans.toml through to the verified plan', async () => {
    const s = await setup(PLANS.replace('post = "none"', 'post = "none"\nlayout = "disk.toml"'), {
      'disk.toml': 'table = "msdos"\n[[partition]]\nlabel = "root"\nsize = "grow"\nfs = "ext4"\nmount = "/"\n',
    })
    const v = await fetchVerifiedPlan(s.cfg)
    expect(v.plan.disk).toEqual({
      table: 'msdos',
      partition: [{ label: 'root', size: 'grow', fs: 'ext4', mount: '/' }],
    })
    expect(planLayout(v.plan.disk as NonNullable<typeof v.plan.disk>).partitions[0]?.size).toEqual({ unit: 'grow' })
  })
})
