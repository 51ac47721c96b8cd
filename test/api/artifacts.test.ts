// Torrents, manifests and signatures for nodes; listings, pack and remove for admins.
import { createHash } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import parseTorrent from 'parse-torrent'
import { describe, expect, it } from 'vitest'
import { bdecode } from '../../common/bencode.ts'
import { parseTorrentInfo } from '../../seeder/index.ts'
import { bearer, fixture, PUBLIC_URL } from './helpers.ts'

describe('torrent, manifest and signature', () => {
  it('rewrites announce and url-list to the public URL and keeps the info hash', async () => {
    const f = await fixture()
    for (const [url, ref, segment] of [
      ['/api/v1/images/base/1/torrent', 'base@1', 'images'],
      ['/api/v1/images/base/2/torrent', 'base@2', 'images'],
      ['/api/v1/overrides/site/1/torrent', 'site@1', 'overrides'],
    ] as const) {
      const r = await f.app.inject({ method: 'GET', url })
      expect(r.statusCode, r.body).toBe(200)
      expect(r.headers['content-type']).toBe('application/x-bittorrent')
      const p = f.packed[ref]?.info as NonNullable<(typeof f.packed)[string]>['info']
      const original = await readFile(p.torrent)
      expect(r.rawPayload.equals(original)).toBe(false)
      const t = await parseTorrent(r.rawPayload)
      expect(t.infoHash).toBe(p.manifest.torrent.infoHash)
      expect(t.announce).toEqual([`${PUBLIC_URL}/announce`])
      expect(t.urlList).toEqual([`${PUBLIC_URL}/webseed/${segment}/${p.manifest.archive.file}`])
      expect(t.private).toBe(true)
      // The info dictionary is byte-identical, and the file is canonical bencoding.
      const ours = parseTorrentInfo(r.rawPayload, 'served')
      const theirs = parseTorrentInfo(original, 'stored')
      expect(ours.infoHash).toBe(theirs.infoHash)
      expect(ours.pieces.equals(theirs.pieces)).toBe(true)
      const d = bdecode(r.rawPayload)
      const span = d.spans.get('info') as [number, number]
      expect(createHash('sha1').update(r.rawPayload.subarray(span[0], span[1])).digest('hex')).toBe(ours.infoHash)
      expect(r.rawPayload.toString('latin1')).not.toContain('old-tracker')
    }
  })

  it('serves the manifest bytes exactly as stored, and the signature', async () => {
    const f = await fixture()
    const p = f.packed['base@2']?.info
    if (!p) throw new Error('fixture')
    const m = await f.app.inject({ method: 'GET', url: '/api/v1/images/base/2/manifest' })
    expect(m.statusCode).toBe(200)
    expect(m.headers['content-type']).toMatch(/^application\/json/)
    expect(m.rawPayload.equals(await readFile(p.manifestFile))).toBe(true)
    const s = await f.app.inject({ method: 'GET', url: '/api/v1/images/base/2/manifest.sig' })
    expect(s.statusCode).toBe(200)
    expect(s.rawPayload.equals(await readFile(p.signatureFile))).toBe(true)
    expect(s.json().alg).toBe('ed25519')
  })

  it('serves nodes only what a plan points to; admins get everything packed', async () => {
    const f = await fixture()
    // other@1 is packed but in no plan.
    for (const url of ['/api/v1/images/other/1/torrent', '/api/v1/images/other/1/manifest']) {
      const r = await f.app.inject({ method: 'GET', url })
      expect(r.statusCode).toBe(404)
      expect(r.json().error.hint).toMatch(/plan/)
      expect((await f.app.inject({ method: 'GET', url, headers: bearer(f.token) })).statusCode).toBe(200)
    }
    // base@1 (named as base@1) and base@2 (the latest packed "base") are planned.
    for (const v of ['1', '2']) {
      expect((await f.app.inject({ method: 'GET', url: `/api/v1/images/base/${v}/manifest` })).statusCode).toBe(200)
    }
    // Unpacked and unknown versions are 404 for everyone.
    for (const url of [
      '/api/v1/images/base/3/torrent',
      '/api/v1/images/base/9/torrent',
      '/api/v1/images/nope/1/torrent',
    ]) {
      const r = await f.app.inject({ method: 'GET', url, headers: bearer(f.token) })
      expect(r.statusCode, url).toBe(404)
    }
    const unpacked = await f.app.inject({ method: 'GET', url: '/api/v1/images/base/3/torrent' })
    expect(unpacked.json().error.code).toBe('IMGSWARM_ERR_NOT_PACKED')
    // Adding other to a plan and reloading opens it to nodes.
    await writeFile(f.plansFile, `${await readFile(f.plansFile, 'utf8')}\n[[node]]\nhostname = "n9"\nimage = "other"\n`)
    expect(
      (await f.app.inject({ method: 'POST', url: '/api/v1/plans/reload', headers: bearer(f.token) })).statusCode,
    ).toBe(200)
    expect((await f.app.inject({ method: 'GET', url: '/api/v1/images/other/1/torrent' })).statusCode).toBe(200)
  })

  it('counts [defaults] as plans, though they give no plan to unlisted nodes', async () => {
    const f = await fixture({ plans: '[defaults]\nimage = "other"\n' })
    expect((await f.app.inject({ method: 'GET', url: '/api/v1/images/other/1/torrent' })).statusCode).toBe(200)
    expect((await f.app.inject({ method: 'GET', url: '/api/v1/images/base/2/torrent' })).statusCode).toBe(404)
    expect((await f.app.inject({ method: 'GET', url: '/api/v1/plan?hostname=node001' })).statusCode).toBe(404)
  })

  it('serves everything packed when the restriction is off', async () => {
    const f = await fixture({ init: { nodeReadsRestricted: false } })
    expect((await f.app.inject({ method: 'GET', url: '/api/v1/images/other/1/torrent' })).statusCode).toBe(200)
  })
})

describe('admin: list, pack, remove, reload', () => {
  it('lists images and overrides with versions and packed info', async () => {
    const f = await fixture()
    const r = await f.app.inject({ method: 'GET', url: '/api/v1/images', headers: bearer(f.token) })
    expect(r.statusCode).toBe(200)
    const items = r.json().items as { name: string; versions: Record<string, unknown>[] }[]
    expect(items.map((i) => i.name)).toEqual(['base', 'other'])
    const base = items[0]?.versions ?? []
    expect(base.map((v) => v.version)).toEqual(['1', '2', '3'])
    const m2 = f.packed['base@2']?.info.manifest
    expect(base[1]).toMatchObject({
      ref: 'base@2',
      referenced: true,
      packed: {
        file: 'base@2.tar.zst',
        size: m2?.archive.size,
        sha256: m2?.archive.sha256,
        infoHash: m2?.torrent.infoHash,
        compression: 'zstd',
      },
    })
    expect(base[2]).toMatchObject({ ref: 'base@3', packed: null, referenced: false })
    const o = await f.app.inject({ method: 'GET', url: '/api/v1/overrides/site', headers: bearer(f.token) })
    expect(o.json()).toMatchObject({ name: 'site', versions: [{ version: '1', referenced: true }] })
    const none = await f.app.inject({ method: 'GET', url: '/api/v1/images/nope', headers: bearer(f.token) })
    expect(none.statusCode).toBe(404)
  })

  it('removes a version no plan names, and refuses one a plan names (409)', async () => {
    const f = await fixture()
    const inUse = await f.app.inject({ method: 'DELETE', url: '/api/v1/images/base/2', headers: bearer(f.token) })
    expect(inUse.statusCode).toBe(409)
    expect(inUse.json().error.code).toBe('IMGSWARM_ERR_IN_USE')
    const inUseO = await f.app.inject({ method: 'DELETE', url: '/api/v1/overrides/site/1', headers: bearer(f.token) })
    expect(inUseO.statusCode).toBe(409)
    const ok = await f.app.inject({ method: 'DELETE', url: '/api/v1/images/other/1', headers: bearer(f.token) })
    expect(ok.statusCode).toBe(200)
    expect(ok.json()).toEqual({ removed: 'other@1' })
    expect(await f.store.versions('image', 'other')).toEqual([])
    const again = await f.app.inject({ method: 'DELETE', url: '/api/v1/images/other/1', headers: bearer(f.token) })
    expect(again.statusCode).toBe(404)
  })

  it('packs through init.pack, and says so when packing is not available', async () => {
    const f = await fixture()
    const r = await f.app.inject({ method: 'POST', url: '/api/v1/images/base/3/pack', headers: bearer(f.token) })
    expect(r.statusCode).toBe(501)
    expect(r.json().error.code).toBe('IMGSWARM_ERR_NOT_SUPPORTED')
    const calls: string[] = []
    const g = await fixture({
      init: {
        pack: async (kind, ref) => {
          calls.push(`${kind} ${ref}`)
          return { info: { ref } }
        },
      },
    })
    const ok = await g.app.inject({ method: 'POST', url: '/api/v1/images/base/3/pack', headers: bearer(g.token) })
    expect(ok.statusCode).toBe(200)
    expect(ok.json()).toEqual({ ref: 'base@3', result: { info: { ref: 'base@3' } } })
    expect(calls).toEqual(['image base@3'])
  })

  it('keeps the old plans when a reload finds a broken file (422)', async () => {
    const f = await fixture()
    await writeFile(f.plansFile, '[[node]]\nmac = "not-a-mac"\n')
    const r = await f.app.inject({ method: 'POST', url: '/api/v1/plans/reload', headers: bearer(f.token) })
    expect(r.statusCode).toBe(422)
    expect(r.json().error.message).toMatch(/\[\[node\]\] #1: mac "not-a-mac" is not a MAC/)
    expect((await f.app.inject({ method: 'GET', url: '/api/v1/plan?hostname=node001' })).statusCode).toBe(200)
  })
})
