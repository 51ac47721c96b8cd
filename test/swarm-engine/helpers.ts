// Real parts for the swarm engine's tests: a tracker on loopback, a random
// image with its private torrent, stock webtorrent seeders, a small HTTP web
// seed with Range support. Everything started here stops after the test,
// pass or fail.
import { createHash, randomBytes } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { afterEach } from 'vitest'
import WebTorrent from 'webtorrent'
import { clientOptions } from '../../client/swarm/engine/index.ts'
import { PieceHasher } from '../../seeder/packer/hasher.ts'
import { buildTorrent } from '../../seeder/packer/torrent.ts'
import { createTracker, type Tracker } from '../../tracker/index.ts'

const live: (() => Promise<void> | void)[] = []
afterEach(async () => {
  while (live.length > 0) await Promise.resolve((live.pop() as () => Promise<void>)()).catch(() => undefined)
})
export function cleanup(fn: () => Promise<void> | void): void {
  live.push(fn)
}

export const PIECE = 64 * 1024
export const NAME = 'img.tar'

export async function startTracker(): Promise<Tracker> {
  const pino = (await import('pino')).default
  const t = createTracker({ http: { host: '127.0.0.1', port: 0 }, udp: false, logger: pino({ level: 'silent' }) })
  cleanup(() => t.stop())
  await t.start()
  return t
}

export interface Image {
  data: Buffer
  torrent: Buffer
  pieces: number
  sha: string
}

/** Random bytes written to SEEDDIR/img.tar, and their private torrent. */
export async function makeImage(
  seedDir: string,
  tracker: Tracker,
  o: { size?: number; webseed?: WebSeed; pieceLength?: number } = {},
): Promise<Image> {
  const data = randomBytes(o.size ?? 4 * 1024 * 1024 + 12345)
  if (o.webseed) o.webseed.data = data
  await writeFile(join(seedDir, NAME), data)
  const h = new PieceHasher(o.pieceLength ?? PIECE)
  h.update(data)
  const { pieces } = h.finish()
  const { file } = buildTorrent({
    name: NAME,
    length: data.length,
    pieceLength: o.pieceLength ?? PIECE,
    pieces,
    announce: [`http://127.0.0.1:${tracker.httpPort}/announce`],
    webseeds: o.webseed ? [o.webseed.url] : [],
    createdBy: 'imgswarm test',
  })
  return { data, torrent: file, pieces: pieces.length / 20, sha: sha(data) }
}

export const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex')
export const fileSha = async (dir: string) => sha(await readFile(join(dir, NAME)))

export function fullBitfield(pieces: number): Uint8Array {
  const b = new Uint8Array(Math.ceil(pieces / 8)).fill(0xff)
  if (pieces % 8) b[b.length - 1] = 0xff << (8 - (pieces % 8))
  return b
}

// biome-ignore lint/suspicious/noExplicitAny: webtorrent ships no types
export type Wt = any

/** A stock webtorrent client (the engine's client options plus `extra`), destroyed after the test. */
export function webtorrent(extra: Record<string, unknown> = {}): Wt {
  const c: Wt = new WebTorrent({ ...clientOptions({}), ...extra })
  cleanup(() => new Promise<void>((r) => c.destroy(() => r())))
  return c
}

/** A stock webtorrent seeder of SEEDDIR/img.tar; resolves once it seeds. `uploaded()` counts payload bytes. */
export async function stockSeeder(
  img: Image,
  seedDir: string,
  extra: Record<string, unknown> = {},
): Promise<{ client: Wt; uploaded: () => number; stop: () => Promise<void> }> {
  const client = webtorrent(extra)
  let up = 0
  await new Promise<void>((resolve, reject) => {
    const t = client.add(img.torrent, { path: seedDir, strategy: 'rarest' })
    t.on('wire', (w: Wt) => w.on('upload', (n: number) => (up += n)))
    t.once('done', () => resolve())
    t.once('error', reject)
  })
  return { client, uploaded: () => up, stop: () => new Promise<void>((r) => client.destroy(() => r())) }
}

export interface WebSeed {
  url: string
  /** The bytes it serves (set once the image exists). */
  data: Buffer
  requests: number
}

/** An HTTP web seed (BEP 19) with Range support; `delayMs` slows each answer. */
export async function webSeed(delayMs = 0): Promise<WebSeed> {
  const ws: WebSeed = { url: '', data: Buffer.alloc(0), requests: 0 }
  const server: Server = createServer((req, res) => {
    ws.requests++
    const img = ws
    const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '')
    const from = m ? Number(m[1]) : 0
    const to = m ? Math.min(Number(m[2]), img.data.length - 1) : img.data.length - 1
    setTimeout(() => {
      res.writeHead(m ? 206 : 200, {
        'content-length': to - from + 1,
        ...(m ? { 'content-range': `bytes ${from}-${to}/${img.data.length}` } : {}),
      })
      res.end(img.data.subarray(from, to + 1))
    }, delayMs)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  cleanup(() => new Promise<void>((r) => server.close(() => r())))
  cleanup(() => server.closeAllConnections())
  const { port } = server.address() as AddressInfo
  ws.url = `http://127.0.0.1:${port}/${NAME}`
  return ws
}

/** Polls `cond` every 20 ms; rejects after `ms` with `what`. */
export async function until(cond: () => boolean, what: string, ms = 30_000): Promise<void> {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}
