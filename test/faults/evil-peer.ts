// A malicious BitTorrent peer for fault 4, run inside a fleet host:
//   node test/faults/evil-peer.ts TORRENT TRACKER_URL PORT garbage|silent
// It announces itself to the tracker as a seed of the torrent (left=0), and
// on every connection (incoming, and outgoing to the peers the tracker lists)
// handshakes with bittorrent-protocol, claims every piece (a full bitfield),
// unchokes, and then either answers each request with random bytes
// (garbage) or never answers at all (silent). One JSON line per event on
// stdout, so the test can prove the attack happened: {"ev":"conn"},
// {"ev":"request"}, {"ev":"sent","bytes":N}, {"ev":"close"}.
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { connect, createServer, type Socket } from 'node:net'
import Wire from 'bittorrent-protocol'
import { parseTorrentInfo } from '../../common/torrent.ts'

interface EvilWire extends NodeJS.ReadWriteStream {
  handshake(infoHash: string, peerId: string, ext?: Record<string, boolean>): void
  bitfield(b: Uint8Array): void
  unchoke(): void
  destroy(): void
  on(ev: 'handshake', cb: (infoHash: string) => void): this
  on(ev: 'interested', cb: () => void): this
  on(
    ev: 'request',
    cb: (i: number, off: number, len: number, respond: (e: Error | null, b?: Buffer) => void) => void,
  ): this
  on(ev: 'error' | 'close', cb: () => void): this
}

const [file, tracker, portArg, mode] = process.argv.slice(2)
if (!file || !tracker || !portArg || (mode !== 'garbage' && mode !== 'silent')) {
  process.stderr.write('usage: evil-peer.ts TORRENT TRACKER_URL PORT garbage|silent\n')
  process.exit(2)
}
const info = parseTorrentInfo(readFileSync(file), file)
const port = Number(portArg)
const numPieces = info.pieces.length / 20
const peerId = `-EV0001-${randomBytes(6).toString('hex')}`
const bits = new Uint8Array(Math.ceil(numPieces / 8))
for (let i = 0; i < numPieces; i++) bits[i >> 3] = (bits[i >> 3] as number) | (0x80 >> (i & 7))
const say = (o: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(o)}\n`)
const connected = new Set<string>()

function serveWire(socket: Socket, outgoing: boolean): void {
  const addr = `${socket.remoteAddress}:${socket.remotePort}`
  const wire = new (Wire as new () => EvilWire)()
  socket.pipe(wire).pipe(socket)
  socket.on('error', () => wire.destroy())
  wire.on('error', () => socket.destroy())
  say({ ev: 'conn', addr, outgoing })
  const greet = () => {
    wire.bitfield(bits)
    wire.unchoke()
  }
  if (outgoing) wire.handshake(info.infoHash, Buffer.from(peerId).toString('hex'))
  wire.on('handshake', () => {
    if (!outgoing) wire.handshake(info.infoHash, Buffer.from(peerId).toString('hex'))
    greet()
  })
  wire.on('interested', () => wire.unchoke())
  wire.on('request', (index, offset, length, respond) => {
    say({ ev: 'request', index, offset, length })
    if (mode === 'silent') return
    respond(null, randomBytes(length))
    say({ ev: 'sent', bytes: length, index })
  })
  socket.once('close', () => {
    connected.delete(addr)
    say({ ev: 'close', addr })
  })
}

createServer((s) => serveWire(s, false)).listen(port, '0.0.0.0')

/** BEP 3 / BEP 23 announce: a seed with nothing left; connect out to the listed peers. */
async function announce(): Promise<void> {
  const q = (b: Buffer) => [...b].map((x) => `%${x.toString(16).padStart(2, '0')}`).join('')
  const url =
    `${tracker}?info_hash=${q(Buffer.from(info.infoHash, 'hex'))}&peer_id=${q(Buffer.from(peerId))}` +
    `&port=${port}&uploaded=0&downloaded=0&left=0&compact=1&numwant=50&event=started`
  try {
    const body = Buffer.from(await (await fetch(url, { signal: AbortSignal.timeout(3000) })).arrayBuffer())
    const at = body.indexOf('5:peers')
    const m = /^5:peers(\d+):/.exec(body.subarray(at, at + 20).toString('latin1'))
    if (at < 0 || !m) {
      say({ ev: 'announce', peers: 0, body: body.toString('latin1').slice(0, 200) })
      return
    }
    const start = at + m[0].length
    const list = body.subarray(start, start + Number(m[1]))
    let n = 0
    for (let i = 0; i + 6 <= list.length; i += 6) {
      const host = `${list[i]}.${list[i + 1]}.${list[i + 2]}.${list[i + 3]}`
      const p = list.readUInt16BE(i + 4)
      const key = `${host}:${p}`
      if (p === port || connected.has(key)) continue
      connected.add(key)
      n++
      const s = connect(p, host)
      s.once('connect', () => serveWire(s, true))
      s.once('error', () => connected.delete(key))
    }
    say({ ev: 'announce', peers: list.length / 6, dialed: n })
  } catch (e) {
    say({ ev: 'announce', error: (e as Error).message })
  }
}
void announce()
setInterval(() => void announce(), 2000)
