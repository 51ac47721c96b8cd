// The network allow-list (docs/tracker.md#network-allow-list) on the real
// tracker: announces from a second loopback address, 127.0.0.2, stand for a
// peer outside the allowed networks; 127.0.0.1 is inside.
import { describe, expect, it } from 'vitest'
import { isImgswarmError } from '../../common/errors.ts'
import { createTracker, NETWORK_REFUSAL, setAllowList } from '../../tracker/index.ts'
import {
  announce,
  announcePath,
  type Bencoded,
  bdecode,
  failure,
  get,
  hash,
  startTracker,
  UdpProbe,
  udpReply,
} from './helpers.ts'

const A = hash(0xa1)
const OUTSIDE = '127.0.0.2'

describe('tracker network allow-list', () => {
  it('HTTP: answers peers inside the networks, refuses others with a clear failure reason', async () => {
    const t = await startTracker({ networks: ['127.0.0.1/32', 'fd00::/8'] })
    const port = t.httpPort as number
    const inside = await announce(port, { infoHash: A, peer: 1, port: 6881 })
    expect(failure(inside)).toBeUndefined()
    expect(inside.interval).toBeTypeOf('number')
    const outside = await announce(port, { infoHash: A, peer: 2, port: 6882 }, OUTSIDE)
    expect(failure(outside)).toBe(NETWORK_REFUSAL)
    // The refused peer was not added to the swarm: the next inside peer sees peer 1 (and itself), never peer 2.
    const next = await announce(port, { infoHash: A, peer: 3, port: 6883 })
    const peers = next.peers as Buffer
    const ports = Array.from({ length: peers.length / 6 }, (_, i) => peers.readUInt16BE(i * 6 + 4))
    expect(ports).toContain(6881)
    expect(ports).not.toContain(6882)
    // Naming an inside address in ip= changes nothing: the connection's address decides.
    const claimed = await get(port, `${announcePath({ infoHash: A, peer: 4, port: 6884 })}&ip=127.0.0.1`, OUTSIDE)
    expect(failure(bdecode(claimed.body) as { [k: string]: Bencoded })).toBe(NETWORK_REFUSAL)
    const metrics = (await get(port, '/metrics')).body.toString()
    expect(metrics).toContain('imgswarm_tracker_refused_network_total 2')
  })

  it('UDP: connect is answered, the announce from outside gets a BEP 15 error no larger than the request', async () => {
    const t = await startTracker({ networks: ['127.0.0.1'] })
    const port = t.udpPort as number
    const out = await UdpProbe.open(OUTSIDE)
    const packet = out.announcePacket(await out.connect(port), A, 2)
    const raw = await out.request(port, packet)
    expect(udpReply(raw)).toEqual({ action: 3, text: NETWORK_REFUSAL })
    expect((raw as Buffer).length).toBeLessThanOrEqual(packet.length)
    const inside = await UdpProbe.open('127.0.0.1')
    const ok = udpReply(await inside.request(port, inside.announcePacket(await inside.connect(port), A, 1)))
    expect(ok?.action).toBe(1)
  })

  it('the network check comes before the info-hash list: an outsider cannot tell served hashes from others', async () => {
    const t = await startTracker({ networks: ['127.0.0.1'], allow: setAllowList([A]) })
    const port = t.httpPort as number
    const known = failure(await announce(port, { infoHash: A, peer: 1, port: 6881 }, OUTSIDE))
    const unknown = failure(await announce(port, { infoHash: hash(0xb2), peer: 1, port: 6881 }, OUTSIDE))
    expect([known, unknown]).toEqual([NETWORK_REFUSAL, NETWORK_REFUSAL])
    // Inside, the info-hash list still applies.
    expect(failure(await announce(port, { infoHash: hash(0xb2), peer: 1, port: 6881 }))).toMatch(/unknown info hash/)
  })

  it('without networks the tracker answers any address', async () => {
    const t = await startTracker()
    const d: { [k: string]: Bencoded } = await announce(
      t.httpPort as number,
      { infoHash: A, peer: 1, port: 1 },
      OUTSIDE,
    )
    expect(failure(d)).toBeUndefined()
  })

  it('refuses a malformed network at creation with IMGSWARM_ERR_NETWORK_LIST', () => {
    for (const bad of ['10.0.0.0/33', '10.0.0/8', 'fd00::/129', '10.0.0.0/8/1', '']) {
      let e: unknown
      try {
        createTracker({ networks: [bad] })
      } catch (err) {
        e = err
      }
      expect(isImgswarmError(e, 'IMGSWARM_ERR_NETWORK_LIST'), `${bad}: ${String(e)}`).toBe(true)
    }
  })
})
