// Announces against the real tracker on loopback port 0, with an allow-list
// and a swarm of 40 peers (so that replies could grow). HTTP: query strings
// with binary info_hash/peer_id, huge numwant, bad ports, repeated and unknown
// keys: a bencoded reply, always. UDP (BEP 15): random packets and mutated
// connect/announce/scrape packets carrying a real connection id: every reply
// is well formed and echoes a transaction id we sent; connect and error
// replies are no larger than the packet that caused them, and peer lists go
// only to a packet with the valid connection id of its source address
// (docs/tracker.md: a spoofed source cannot use the tracker as an amplifier).
import { createSocket } from 'node:dgram'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { setAllowList } from '../../tracker/index.ts'
import {
  announce,
  bdecode,
  binEscape,
  cleanup,
  failure,
  get,
  hash,
  peerId,
  startTracker,
  UdpProbe,
} from '../tracker/helpers.ts'
import { CLEAN, campaign, failures } from './harness.ts'
import { applyEdits, editArb } from './mutate.ts'

const IH = hash(0x5a)
const OTHER = hash(0x11)

async function trackerWithSwarm() {
  const t = await startTracker({ allow: setAllowList([IH]) })
  for (let i = 0; i < 40; i++) await announce(t.httpPort as number, { infoHash: IH, peer: i, port: 7000 + i })
  return t
}

const bin = (max: number) => fc.uint8Array({ maxLength: max }).map((b) => binEscape(Buffer.from(b)))
const VALUE = fc.oneof(
  bin(24),
  fc.constantFrom(binEscape(Buffer.from(IH, 'hex')), binEscape(Buffer.from(OTHER, 'hex')), binEscape(peerId(3))),
  fc.constantFrom(
    '',
    '0',
    '-1',
    '1e309',
    'NaN',
    '65535',
    '65536',
    '0x50',
    '99999999999999999999',
    '1.5',
    '%',
    '%zz',
    '%00',
  ),
  fc.constantFrom('started', 'stopped', 'completed', 'paused', 'x', '127.0.0.1', '::1', '999.1.1.1'),
  fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map(String),
  fc.string({ maxLength: 12 }).map(encodeURIComponent),
)
const KEY = fc.constantFrom(
  'info_hash',
  'peer_id',
  'port',
  'left',
  'uploaded',
  'downloaded',
  'numwant',
  'compact',
  'event',
  'ip',
  'key',
  'no_peer_id',
  'trackerid',
  'x',
  '',
)
const QUERY = fc.tuple(
  fc.constantFrom('/announce', '/scrape', '/announce/', '/ANNOUNCE', '/announce;x'),
  fc.constantFrom('', `info_hash=${binEscape(Buffer.from(IH, 'hex'))}&peer_id=${binEscape(peerId(99))}&port=6881&`),
  fc.array(fc.tuple(KEY, VALUE), { maxLength: 12 }),
)

function judgeHttp(path: string, r: { status: number; body: Buffer }): string {
  if (path.startsWith('/announce') && path.length > 9 && path[9] !== '?') {
    return r.status === 404 ? 'refused' : `${path.slice(0, 12)}: HTTP ${r.status}, expected 404`
  }
  if (r.status !== 200 && r.status !== 400 && r.status !== 404) return `HTTP ${r.status}`
  if (r.status === 404) return path.startsWith('/ANNOUNCE') ? 'refused' : `HTTP 404 for ${path.slice(0, 40)}`
  let d: Record<string, unknown>
  try {
    d = bdecode(r.body) as Record<string, unknown>
  } catch (e) {
    return `not bencoded (${(e as Error).message}): ${r.body.toString('latin1').slice(0, 80)}`
  }
  if ('failure reason' in d) return 'refused'
  if (path.startsWith('/scrape')) return 'files' in d ? 'accepted' : 'scrape reply without files'
  if (!('interval' in d) || !('peers' in d)) return 'announce reply without interval or peers'
  const peers = d.peers
  if (Buffer.isBuffer(peers) && peers.length % 6 !== 0) return `compact peers of ${peers.length} bytes`
  return 'accepted'
}

/** BEP 15 reply shapes: connect 16 bytes, announce 20 + 6n, scrape 8 + 12n, error 8 + text. */
function wellFormed(m: Buffer): string | undefined {
  if (m.length < 8) return `reply of ${m.length} bytes`
  const action = m.readUInt32BE(0)
  if (action === 0) return m.length === 16 ? undefined : `connect reply of ${m.length} bytes`
  if (action === 1) return m.length >= 20 && (m.length - 20) % 6 === 0 ? undefined : `announce reply of ${m.length}`
  if (action === 2) return (m.length - 8) % 12 === 0 ? undefined : `scrape reply of ${m.length} bytes`
  if (action === 3) return undefined
  return `unknown action ${action}`
}

describe('fuzz: tracker announces', () => {
  it('HTTP announce and scrape query strings', async () => {
    const t = await trackerWithSwarm()
    const port = t.httpPort as number
    const r = await campaign('announce-http', QUERY, async ([route, prefix, kv]) => {
      const path = `${route}?${prefix}${kv.map(([k, v]) => `${k}=${v}`).join('&')}`
      return judgeHttp(path, await get(port, path))
    })
    expect(failures(r)).toEqual(CLEAN)
    expect(r.accepted).toBeGreaterThan(0)
    const ok = await announce(port, { infoHash: IH, peer: 500, port: 9500 })
    expect(failure(ok)).toBeUndefined()
  })

  it('UDP packets: random and mutated BEP 15, never amplified', async () => {
    const t = await trackerWithSwarm()
    const port = t.udpPort as number
    const probe = await UdpProbe.open()
    const conn = await probe.connect(port)
    // The fuzz socket: replies are matched to what we sent by transaction id.
    const sock = createSocket('udp4')
    await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', resolve))
    cleanup(() => new Promise<void>((resolve) => sock.close(() => resolve())))
    // transaction id -> the largest packet that carried it, and whether any had our valid connection id
    const sent = new Map<number, { len: number; valid: boolean }>()
    const bad: string[] = []
    const answered = new Map<number, number>() // transaction id -> action of its reply
    let sentinel: { tx: number; resolve: () => void } | undefined
    // A connection id for the fuzz socket's own address (ids are bound to ip:port).
    const own = await new Promise<Buffer>((resolve) => {
      sock.once('message', (m) => resolve(m.subarray(8, 16)))
      sock.send(probe.connectPacket(), port, '127.0.0.1')
    })
    sock.on('message', (m) => {
      const shape = wellFormed(m)
      if (shape) return void bad.push(shape)
      const tx = m.readUInt32BE(4)
      if (sentinel && tx === sentinel.tx) return sentinel.resolve()
      const p = sent.get(tx)
      const action = m.readUInt32BE(0)
      answered.set(tx, action)
      if (p === undefined) bad.push(`reply with a transaction id never sent: ${tx}`)
      else if ((action === 1 || action === 2) && !p.valid)
        bad.push(`action ${action} answered without a valid connection id`)
      else if ((action === 0 || action === 3) && m.length > p.len) {
        bad.push(`amplified: ${m.length}-byte reply (action ${action}) to a ${p.len}-byte packet`)
      }
    })
    void conn
    let tx = 1 << 30
    const base = (kind: number, n: number): Buffer => {
      if (kind === 0) return probe.connectPacket()
      if (kind === 1)
        return probe.announcePacket(own, n % 2 ? IH : OTHER, 1000 + (n % 50), { port: 6000 + (n % 50000) })
      const s = Buffer.alloc(16 + 20 * (1 + (n % 80)))
      own.copy(s, 0)
      s.writeUInt32BE(2, 8)
      for (let i = 16; i < s.length; i += 20) Buffer.from(IH, 'hex').copy(s, i)
      return s
    }
    const packet = fc.oneof(
      { arbitrary: fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)), weight: 1 },
      {
        arbitrary: fc
          .tuple(
            fc.nat({ max: 2 }),
            fc.nat(),
            fc.array(editArb([]), { maxLength: 3 }),
            fc.option(fc.integer({ min: -1, max: 2 ** 31 - 1 })),
          )
          .map(([kind, n, edits, numwant]) => {
            const b = base(kind, n)
            if (kind === 1 && numwant !== null) b.writeInt32BE(numwant, 92)
            return applyEdits(b, edits)
          }),
        weight: 4,
      },
    )
    const r = await campaign('announce-udp', packet, async (p) => {
      if (p.length >= 16) p.writeUInt32BE(++tx, 12) // our transaction id (after the edits: where BEP 15 has it)
      const id = p.length >= 16 ? p.readUInt32BE(12) : -1
      const prev = sent.get(id)
      const valid = p.length >= 8 && p.subarray(0, 8).equals(own)
      sent.set(id, { len: Math.max(p.length, prev?.len ?? 0), valid: valid || prev?.valid === true })
      const before = bad.length
      sock.send(p, port, '127.0.0.1')
      // A CONNECT behind it: its reply means the tracker is up and has read the packet.
      const s = probe.connectPacket()
      s.writeUInt32BE(++tx, 12)
      await new Promise<void>((resolve) => {
        sentinel = { tx, resolve }
        sock.send(s, port, '127.0.0.1')
      })
      if (bad.length > before) return bad[bad.length - 1] as string
      // Refused: an error reply or none (yet: a late announce reply is still checked when it comes).
      return answered.get(id) === 1 || answered.get(id) === 2 || answered.get(id) === 0 ? 'accepted' : 'refused'
    })
    // Announces the library answers late are checked as they arrive.
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(failures(r)).toEqual(CLEAN)
    expect(bad).toEqual([])
    const ok = await probe.request(port, probe.announcePacket(conn, IH, 77))
    expect(ok?.readUInt32BE(0)).toBe(1)
  })
})
