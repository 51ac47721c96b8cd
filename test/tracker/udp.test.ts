// BEP 15 handshake: connection ids are bound to the source address and time,
// the protocol magic is not a connection id, and no packet stops the tracker.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { connectionIds } from '../../tracker/connection-id.ts'
import { RUNS } from '../support/fuzz.ts'
import { hash, startTracker, UdpProbe, udpReply } from './helpers.ts'

const IH = hash(0x42)
const MAGIC = Buffer.from('0000041727101980', 'hex')

describe('UDP connection ids', () => {
  it('are valid in the window they were minted and the next, not after', () => {
    const ids = connectionIds(Buffer.alloc(32, 7), 120_000)
    const t0 = 1_000 * 120_000 + 5
    const id = ids.mint('10.0.0.1', 6881, t0)
    expect(ids.verify(id, '10.0.0.1', 6881, t0)).toBe(true)
    expect(ids.verify(id, '10.0.0.1', 6881, t0 + 120_000)).toBe(true)
    expect(ids.verify(id, '10.0.0.1', 6881, t0 + 240_000)).toBe(false)
    expect(ids.verify(id, '10.0.0.1', 6882, t0)).toBe(false)
    expect(ids.verify(id, '10.0.0.2', 6881, t0)).toBe(false)
    expect(ids.verify(Buffer.alloc(7), '10.0.0.1', 6881, t0)).toBe(false)
  })

  it('a good handshake announces and lists the packet source, not the IP the packet claims', async () => {
    const t = await startTracker()
    const p = await UdpProbe.open()
    const id = await p.connect(t.udpPort as number)
    const r = await p.request(t.udpPort as number, p.announcePacket(id, IH, 1, { ip: 0x01020304, port: 7777 }))
    expect(udpReply(r)?.action).toBe(1)
    const q = await UdpProbe.open()
    const r2 = await q.request(t.udpPort as number, q.announcePacket(await q.connect(t.udpPort as number), IH, 2))
    // Reply: action, tx, interval, leechers, seeders, then 6-byte peers.
    const peers = (r2 as Buffer).subarray(20)
    const listed = [...Array(peers.length / 6).keys()].map(
      (i) => `${[...peers.subarray(i * 6, i * 6 + 4)].join('.')}:${peers.readUInt16BE(i * 6 + 4)}`,
    )
    expect(listed).toContain('127.0.0.1:7777')
    expect(listed.some((a) => a.startsWith('1.2.3.4'))).toBe(false)
  })

  it('an id obtained from one source port is refused from another', async () => {
    const t = await startTracker()
    const a = await UdpProbe.open()
    const b = await UdpProbe.open()
    const id = await a.connect(t.udpPort as number)
    const r = udpReply(await b.request(t.udpPort as number, b.announcePacket(id, IH, 1)))
    expect(r).toEqual({ action: 3, text: 'connection id invalid' })
    expect(t.stats().peers).toBe(0)
  })

  it('the protocol magic used as a connection id (skipping CONNECT) is refused', async () => {
    const t = await startTracker()
    const p = await UdpProbe.open()
    const r = udpReply(await p.request(t.udpPort as number, p.announcePacket(MAGIC, IH, 1)))
    expect(r).toEqual({ action: 3, text: 'connection id invalid' })
    const scrape = Buffer.concat([MAGIC, Buffer.from([0, 0, 0, 2, 0, 0, 0, 9]), Buffer.from(IH, 'hex')])
    expect(udpReply(await p.request(t.udpPort as number, scrape))).toEqual({ action: 3, text: 'connection id invalid' })
    expect(t.stats().peers).toBe(0)
  })

  it('random packets never stop the tracker or draw an error larger than themselves, and a good client still works', async () => {
    const t = await startTracker()
    const port = t.udpPort as number
    const p = await UdpProbe.open()
    const id = await p.connect(port)
    const packet = fc.oneof(
      fc.uint8Array({ maxLength: 200 }),
      // Well-formed headers with random actions and bodies reach deeper.
      fc
        .tuple(
          fc.constantFrom(MAGIC, id, Buffer.alloc(8)),
          fc.integer({ min: 0, max: 5 }),
          fc.uint8Array({ maxLength: 180 }),
        )
        .map(([cid, action, body]) => {
          const h = Buffer.alloc(16)
          cid.copy(h, 0)
          h.writeUInt32BE(action, 8)
          return Buffer.concat([h, body])
        }),
    )
    await fc.assert(
      fc.asyncProperty(packet, async (bytes) => {
        const msg = Buffer.from(bytes)
        const reply = await p.request(port, msg, 20)
        // An error goes to an unproven source: it must not amplify. (A late reply to an
        // earlier packet carries another transaction id and is not this packet's.)
        if (reply && reply.length >= 8 && reply.readUInt32BE(0) === 3 && msg.length >= 16) {
          if (reply.readUInt32BE(4) === msg.readUInt32BE(12)) expect(reply.length).toBeLessThanOrEqual(msg.length)
        }
      }),
      { numRuns: RUNS },
    )
    const q = await UdpProbe.open()
    const ok = udpReply(await q.request(port, q.announcePacket(await q.connect(port), IH, 99)))
    expect(ok?.action).toBe(1)
  })
})
