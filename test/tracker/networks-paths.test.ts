// The network allow-list on every tracker path besides announces
// (docs/tracker.md#network-allow-list): scrapes over HTTP and UDP, /stats,
// /metrics and WebSocket announces. Real sockets; the client binds the second
// loopback address 127.0.0.2, outside the allowed 127.0.0.1/32, so the source
// the tracker sees really differs. Each refusal is checked against the same
// request from inside, or from the same address without networks.
import { describe, expect, it } from 'vitest'
import { NETWORK_REFUSAL } from '../../tracker/index.ts'
import {
  announce,
  type Bencoded,
  bdecode,
  binEscape,
  failure,
  get,
  hash,
  peerId,
  startTracker,
  UdpProbe,
  udpReply,
  udpScrapePacket,
  wsUpgrade,
} from './helpers.ts'

const A = hash(0xa1)
const INSIDE = ['127.0.0.1/32']
const OUTSIDE = '127.0.0.2'

const scrapePath = `/scrape?info_hash=${binEscape(Buffer.from(A, 'hex'))}`

function errorCode(body: Buffer | string): string | undefined {
  return (JSON.parse(body.toString()) as { error?: { code?: string } }).error?.code
}

describe('tracker network allow-list beyond announces', () => {
  it('HTTP scrape: a BEP 3 failure reason from outside, the swarm counts from inside', async () => {
    const t = await startTracker({ networks: INSIDE })
    const port = t.httpPort as number
    expect(failure(await announce(port, { infoHash: A, peer: 1, port: 6881 }))).toBeUndefined()
    const out = await get(port, scrapePath, OUTSIDE)
    expect(out.status).toBe(200)
    expect(failure(bdecode(out.body) as { [k: string]: Bencoded })).toBe(NETWORK_REFUSAL)
    const inside = bdecode((await get(port, scrapePath)).body) as { [k: string]: Bencoded }
    const files = inside.files as { [k: string]: { [k: string]: Bencoded } }
    expect(Object.values(files)[0]?.incomplete).toBe(1)
    // Without networks the same source is answered: the refusal comes from the list.
    const open = await startTracker()
    const d = bdecode((await get(open.httpPort as number, scrapePath, OUTSIDE)).body) as { [k: string]: Bencoded }
    expect(failure(d)).toBeUndefined()
    expect(d.files).toBeDefined()
  })

  it('UDP scrape: a BEP 15 error after the handshake, never larger than the request', async () => {
    const t = await startTracker({ networks: INSIDE })
    const port = t.udpPort as number
    const out = await UdpProbe.open(OUTSIDE)
    const one = udpScrapePacket(await out.connect(port), [A])
    const raw = await out.request(port, one)
    // 36 bytes: the full reason (88) would not fit, so the short one.
    expect(udpReply(raw)).toEqual({ action: 3, text: 'address not allowed' })
    expect((raw as Buffer).length).toBeLessThanOrEqual(one.length)
    const four = udpScrapePacket(await out.connect(port), [A, hash(2), hash(3), hash(4)])
    expect(udpReply(await out.request(port, four))).toEqual({ action: 3, text: NETWORK_REFUSAL })
    const inside = await UdpProbe.open('127.0.0.1')
    expect(udpReply(await inside.request(port, udpScrapePacket(await inside.connect(port), [A])))?.action).toBe(2)
    const open = await startTracker()
    const o = await UdpProbe.open(OUTSIDE)
    const openPort = open.udpPort as number
    expect(udpReply(await o.request(openPort, udpScrapePacket(await o.connect(openPort), [A])))?.action).toBe(2)
  })

  it('/stats and /metrics: 403 with IMGSWARM_ERR_NETWORK_NOT_ALLOWED from outside, counted', async () => {
    const t = await startTracker({ networks: INSIDE })
    const port = t.httpPort as number
    for (const path of ['/stats', '/metrics']) {
      const out = await get(port, path, OUTSIDE)
      expect(out.status, path).toBe(403)
      expect(out.type).toMatch(/application\/json/)
      expect(errorCode(out.body)).toBe('IMGSWARM_ERR_NETWORK_NOT_ALLOWED')
      expect(out.body.toString()).toContain(OUTSIDE)
    }
    expect((await get(port, '/stats')).status).toBe(200)
    const metrics = (await get(port, '/metrics')).body.toString()
    expect(metrics).toContain('imgswarm_tracker_refused_network_total 2')
    const open = await startTracker()
    expect((await get(open.httpPort as number, '/stats', OUTSIDE)).status).toBe(200)
  })

  it('WebSocket: the upgrade from outside is refused with a 403 JSON; inside, announces are answered', async () => {
    const t = await startTracker({ networks: INSIDE, ws: true })
    const port = t.httpPort as number
    for (const path of ['/', '/announce']) {
      const out = await wsUpgrade(port, path, OUTSIDE)
      expect(out.status, path).toBe(403)
      expect(errorCode(out.body)).toBe('IMGSWARM_ERR_NETWORK_NOT_ALLOWED')
    }
    expect((await wsUpgrade(port, '/announce')).status).toBe(101)
    // A real WebSocket announce from inside (127.0.0.1, the client's default source).
    const ws = new WebSocket(`ws://127.0.0.1:${port}/announce`)
    const reply = await new Promise<Record<string, unknown>>((resolve, reject) => {
      ws.onerror = () => reject(new Error('websocket error'))
      ws.onopen = () =>
        ws.send(
          JSON.stringify({
            action: 'announce',
            info_hash: Buffer.from(A, 'hex').toString('latin1'),
            peer_id: peerId(9).toString('latin1'),
            uploaded: 0,
            downloaded: 0,
            left: 1000,
            event: 'started',
            numwant: 0,
            offers: [],
          }),
        )
      ws.onmessage = (m) => resolve(JSON.parse(String(m.data)) as Record<string, unknown>)
    }).finally(() => ws.close())
    expect(reply['failure reason']).toBeUndefined()
    expect(reply.interval).toBeTypeOf('number')
    expect(t.stats().swarms.find((s) => s.infoHash === A)?.leechers).toBe(1)
    // Without networks the same outside source is upgraded.
    const open = await startTracker({ ws: true })
    expect((await wsUpgrade(open.httpPort as number, '/announce', OUTSIDE)).status).toBe(101)
  })

  it('WebSocket off (the default): no upgrade from anyone', async () => {
    const t = await startTracker({ networks: INSIDE })
    const inside = await wsUpgrade(t.httpPort as number, '/announce')
    expect(inside.status).not.toBe(101)
  })
})
