// Shared by the tracker tests: a tracker on loopback port 0 that is stopped
// after each test (pass or fail), raw HTTP announces, a raw BEP 15 client and
// a small bencode reader (our own, so the tests do not trust the library's).
import { createSocket, type Socket } from 'node:dgram'
import { Agent, request } from 'node:http'
import { afterEach } from 'vitest'
import { createTracker, type Tracker, type TrackerInit } from '../../tracker/index.ts'

const live: (() => Promise<void>)[] = []

afterEach(async () => {
  while (live.length > 0) await (live.pop() as () => Promise<void>)().catch(() => undefined)
})

/** Registers a cleanup that runs after the current test whatever its outcome. */
export function cleanup(fn: () => Promise<void> | void): void {
  live.push(async () => {
    await fn()
  })
}

export const quietLogger = async () => (await import('pino')).default({ level: 'silent' })

export async function startTracker(init: TrackerInit = {}): Promise<Tracker> {
  const t = createTracker({
    http: { host: '127.0.0.1', port: 0 },
    udp: { host: '127.0.0.1', port: 0 },
    logger: await quietLogger(),
    ...init,
  })
  cleanup(() => t.stop())
  await t.start()
  return t
}

export const hash = (byte: number) => byte.toString(16).padStart(2, '0').repeat(20)

/** Percent-encodes every byte: how clients send binary info_hash and peer_id. */
export const binEscape = (b: Buffer) => [...b].map((x) => `%${x.toString(16).padStart(2, '0')}`).join('')

export function peerId(n: number): Buffer {
  return Buffer.from(`-IS0001-${n.toString().padStart(12, '0')}`)
}

export interface AnnounceArgs {
  infoHash: string
  peer: number
  port: number
  numwant?: number
  left?: number
  event?: string
}

export function announcePath(a: AnnounceArgs): string {
  const q = [
    `info_hash=${binEscape(Buffer.from(a.infoHash, 'hex'))}`,
    `peer_id=${binEscape(peerId(a.peer))}`,
    `port=${a.port}`,
    'uploaded=0',
    'downloaded=0',
    `left=${a.left ?? 1000}`,
    'compact=1',
    ...(a.numwant === undefined ? [] : [`numwant=${a.numwant}`]),
    ...(a.event === undefined ? [] : [`event=${a.event}`]),
  ]
  return `/announce?${q.join('&')}`
}

const agent = new Agent({ keepAlive: true, maxSockets: 32 })

/** `from`: the local address of the client socket (a second loopback address, say). */
export function get(
  port: number,
  path: string,
  from?: string,
): Promise<{ status: number; body: Buffer; type: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent, ...(from ? { localAddress: from } : {}) }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          body: Buffer.concat(chunks),
          type: String(res.headers['content-type'] ?? ''),
        }),
      )
      res.on('error', reject)
    })
    req.on('error', reject)
    req.setTimeout(10_000, () => req.destroy(new Error(`GET ${path} timed out`)))
    req.end()
  })
}

export type Bencoded = number | Buffer | Bencoded[] | { [k: string]: Bencoded }

/** Decodes one bencoded value; throws on anything that is not exactly one. */
export function bdecode(buf: Buffer): Bencoded {
  let i = 0
  const value = (): Bencoded => {
    const c = buf[i]
    if (c === 0x69) {
      const end = buf.indexOf(0x65, i)
      const n = buf.subarray(i + 1, end).toString()
      if (end < 0 || !/^-?\d+$/.test(n)) throw new Error(`bad integer at ${i}`)
      i = end + 1
      return Number(n)
    }
    if (c === 0x6c || c === 0x64) {
      i++
      const items: Bencoded[] = []
      while (buf[i] !== 0x65) {
        if (i >= buf.length) throw new Error('unterminated list or dict')
        items.push(value())
      }
      i++
      if (c === 0x6c) return items
      const d: { [k: string]: Bencoded } = {}
      for (let k = 0; k < items.length; k += 2) d[(items[k] as Buffer).toString('latin1')] = items[k + 1] as Bencoded
      return d
    }
    const colon = buf.indexOf(0x3a, i)
    const len = buf.subarray(i, colon).toString()
    if (colon < 0 || !/^\d+$/.test(len)) throw new Error(`bad string length at ${i}`)
    const s = buf.subarray(colon + 1, colon + 1 + Number(len))
    if (s.length !== Number(len)) throw new Error('string runs past the end')
    i = colon + 1 + Number(len)
    return s
  }
  const v = value()
  if (i !== buf.length) throw new Error(`trailing bytes after offset ${i}`)
  return v
}

export async function announce(port: number, a: AnnounceArgs, from?: string): Promise<{ [k: string]: Bencoded }> {
  const r = await get(port, announcePath(a), from)
  return bdecode(r.body) as { [k: string]: Bencoded }
}

export const failure = (d: { [k: string]: Bencoded }) => (d['failure reason'] as Buffer | undefined)?.toString()

/** A raw BEP 15 client on its own source port. */
export class UdpProbe {
  readonly socket: Socket = createSocket('udp4')
  #tx = 1

  static async open(from = '127.0.0.1'): Promise<UdpProbe> {
    const p = new UdpProbe()
    await new Promise<void>((resolve) => p.socket.bind(0, from, resolve))
    cleanup(() => new Promise<void>((resolve) => p.socket.close(() => resolve())))
    return p
  }

  /** Sends and waits for one reply (undefined after timeoutMs: the tracker dropped the packet). */
  request(port: number, packet: Buffer, timeoutMs = 1000): Promise<Buffer | undefined> {
    return new Promise((resolve) => {
      const done = (msg?: Buffer) => {
        clearTimeout(timer)
        this.socket.off('message', done)
        resolve(msg)
      }
      const timer = setTimeout(done, timeoutMs)
      this.socket.on('message', done)
      this.socket.send(packet, port, '127.0.0.1')
    })
  }

  connectPacket(): Buffer {
    const b = Buffer.alloc(16)
    b.writeBigUInt64BE(0x41727101980n, 0)
    b.writeUInt32BE(0, 8)
    b.writeUInt32BE(this.#tx++, 12)
    return b
  }

  async connect(port: number): Promise<Buffer> {
    const r = await this.request(port, this.connectPacket())
    if (r?.length !== 16 || r.readUInt32BE(0) !== 0) throw new Error('no CONNECT reply')
    return r.subarray(8, 16)
  }

  announcePacket(
    connectionId: Buffer,
    infoHash: string,
    peer: number,
    opts: { ip?: number; port?: number } = {},
  ): Buffer {
    const b = Buffer.alloc(98)
    connectionId.copy(b, 0)
    b.writeUInt32BE(1, 8)
    b.writeUInt32BE(this.#tx++, 12)
    Buffer.from(infoHash, 'hex').copy(b, 16)
    peerId(peer).copy(b, 36)
    b.writeBigUInt64BE(1000n, 64) // left
    b.writeUInt32BE(2, 80) // started
    b.writeUInt32BE(opts.ip ?? 0, 84)
    b.writeInt32BE(-1, 92) // numwant: default
    b.writeUInt16BE(opts.port ?? 6881, 96)
    return b
  }
}

/** Action and message of a BEP 15 reply. */
export function udpReply(r: Buffer | undefined): { action: number; text: string } | undefined {
  if (!r) return undefined
  return { action: r.readUInt32BE(0), text: r.subarray(8).toString() }
}

/** A BEP 15 scrape of `hashes` (16 + 20 per hash bytes). */
export function udpScrapePacket(connectionId: Buffer, hashes: string[], tx = 7): Buffer {
  const b = Buffer.alloc(16 + 20 * hashes.length)
  connectionId.copy(b, 0)
  b.writeUInt32BE(2, 8)
  b.writeUInt32BE(tx, 12)
  for (const [i, h] of hashes.entries()) Buffer.from(h, 'hex').copy(b, 16 + 20 * i)
  return b
}

/**
 * A raw WebSocket upgrade request from `from`: status 101 when the server upgrades (the socket is
 * then closed), else the HTTP answer; status 0 when the server just closed the connection.
 */
export function wsUpgrade(port: number, path: string, from?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1',
      port,
      path,
      agent: false,
      ...(from ? { localAddress: from } : {}),
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': Buffer.from('imgswarm-testkey').toString('base64'),
      },
    })
    req.on('upgrade', (res, socket) => {
      socket.destroy()
      resolve({ status: res.statusCode ?? 0, body: '' })
    })
    req.on('response', (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }))
      res.on('error', reject)
    })
    req.on('error', (e: NodeJS.ErrnoException) =>
      e.code === 'ECONNRESET' ? resolve({ status: 0, body: '' }) : reject(e),
    )
    req.setTimeout(10_000, () => req.destroy(new Error(`upgrade ${path} timed out`)))
    req.end()
  })
}
