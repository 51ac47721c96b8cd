// serve.tracker.networks on a real serve: announces from outside the
// networks are refused, while serve's own addresses (its first seeder)
// are always answered; a bad network in the config is IMGSWARM_ERR_CONFIG.
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { loadConfig } from '../../common/config.ts'
import { isImgswarmError } from '../../common/errors.ts'
import { NETWORK_REFUSAL } from '../../tracker/index.ts'
import { packedStore, type Running, startServe } from '../serve/harness.ts'
import { tempDir } from '../support/tmp.ts'
import { announce, type Bencoded, bdecode, binEscape, failure, get, wsUpgrade } from './helpers.ts'

const running: Running[] = []
afterEach(async () => {
  for (const r of running.splice(0)) await r.stop()
})

describe('serve.tracker.networks', () => {
  it('refuses announces from outside the networks, answers serve itself', async () => {
    const dir = await tempDir()
    const p = await packedStore(dir, 1)
    const infoHash = (await p.store.allPacked())[0]?.info.manifest.torrent.infoHash as string
    const r = await startServe(p.store, { trackerNetworks: ['10.99.0.0/16'] })
    running.push(r)
    const port = new URL(r.url).port
    const outside = await announce(Number(port), { infoHash, peer: 2, port: 6882 }, '127.0.0.2')
    expect(failure(outside)).toBe(NETWORK_REFUSAL)
    // 127.0.0.1 is one of serve's own addresses: the first seeder announces from there, and is in the swarm.
    expect(failure(await announce(Number(port), { infoHash, peer: 1, port: 6881 }))).toBeUndefined()
    const seeders = () => r.server.tracker.stats().swarms.find((s) => s.infoHash === infoHash)?.seeders ?? 0
    for (let i = 0; i < 200 && seeders() === 0; i++) await new Promise((res) => setTimeout(res, 100))
    expect(seeders()).toBeGreaterThanOrEqual(1)
  })

  it('refuses scrapes, /stats and /metrics from outside too; serve has no WebSocket tracker', async () => {
    const dir = await tempDir()
    const p = await packedStore(dir, 1)
    const infoHash = (await p.store.allPacked())[0]?.info.manifest.torrent.infoHash as string
    const r = await startServe(p.store, { trackerNetworks: ['10.99.0.0/16'] })
    running.push(r)
    const port = Number(new URL(r.url).port)
    const scrape = `/scrape?info_hash=${binEscape(Buffer.from(infoHash, 'hex'))}`
    const out = await get(port, scrape, '127.0.0.2')
    expect(failure(bdecode(out.body) as { [k: string]: Bencoded })).toBe(NETWORK_REFUSAL)
    expect((bdecode((await get(port, scrape)).body) as { [k: string]: Bencoded }).files).toBeDefined()
    for (const path of ['/stats', '/metrics']) {
      const refused = await get(port, path, '127.0.0.2')
      expect(refused.status, path).toBe(403)
      expect(JSON.parse(refused.body.toString()).error.code).toBe('IMGSWARM_ERR_NETWORK_NOT_ALLOWED')
      expect((await get(port, path)).status, path).toBe(200)
    }
    // WebSocket announces are off in serve: an upgrade is never accepted, from inside or out.
    for (const from of [undefined, '127.0.0.2']) {
      for (const path of ['/', '/announce']) expect((await wsUpgrade(port, path, from)).status).not.toBe(101)
    }
  })

  it('reads the key from the config file, and refuses a bad network naming it', async () => {
    const dir = await tempDir()
    const file = join(dir, 'c.toml')
    await writeFile(file, '[serve.tracker]\nnetworks = ["10.0.0.0/8", "fd00::/8"]\n')
    expect(loadConfig({ config: file }, {}).serve.trackerNetworks).toEqual(['10.0.0.0/8', 'fd00::/8'])
    expect(loadConfig({ config: 'none' }, {}).serve.trackerNetworks).toBeUndefined()
    await writeFile(file, '[serve.tracker]\nnetworks = ["10.0.0.1/8x"]\n')
    let e: unknown
    try {
      loadConfig({ config: file }, {})
    } catch (err) {
      e = err
    }
    expect(isImgswarmError(e, 'IMGSWARM_ERR_CONFIG')).toBe(true)
    expect((e as Error).message).toMatch(/serve\.tracker\.networks: "10\.0\.0\.1\/8x" is not a network/)
  })
})
