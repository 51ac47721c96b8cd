// Real announces from bittorrent-tracker's own Client, over HTTP and UDP.
import { createServer } from 'node:http'
import { Client } from 'bittorrent-tracker'
import { describe, expect, it } from 'vitest'
import { createTracker, setAllowList } from '../../tracker/index.ts'
import { cleanup, get, hash, peerId, quietLogger, startTracker } from './helpers.ts'

const ALLOWED = hash(0xaa)
const UNKNOWN = hash(0xbb)

type Outcome =
  | { kind: 'update'; complete: number; incomplete: number; peers: string[] }
  | { kind: 'warning' | 'error'; message: string }

/** Starts a client and resolves with its first response; peers seen before it are collected. */
function announceWith(url: string, infoHash: string, n: number, port: number): Promise<Outcome> {
  const c = new Client({ infoHash, peerId: peerId(n), announce: [url], port })
  cleanup(() => new Promise<void>((resolve) => c.destroy(() => resolve())))
  const peers: string[] = []
  return new Promise((resolve) => {
    c.on('peer', (p: unknown) => peers.push(String(p)))
    c.once('update', (d: { complete: number; incomplete: number }) =>
      // 'peer' events follow 'update' in the same tick for HTTP; give them a turn.
      setImmediate(() => resolve({ kind: 'update', complete: d.complete, incomplete: d.incomplete, peers })),
    )
    c.once('warning', (e: Error) => resolve({ kind: 'warning', message: e.message }))
    c.once('error', (e: Error) => resolve({ kind: 'error', message: e.message }))
    c.start()
  })
}

describe('tracker with bittorrent-tracker clients', () => {
  for (const proto of ['http', 'udp'] as const) {
    it(`${proto}: a second client gets the first one as a peer`, async () => {
      const t = await startTracker({ allow: setAllowList([ALLOWED]) })
      const url = proto === 'http' ? `http://127.0.0.1:${t.httpPort}/announce` : `udp://127.0.0.1:${t.udpPort}`
      const first = await announceWith(url, ALLOWED, 1, 7001)
      expect(first).toMatchObject({ kind: 'update', incomplete: 1 })
      const second = await announceWith(url, ALLOWED, 2, 7002)
      expect(second).toMatchObject({ kind: 'update', incomplete: 2 })
      if (second.kind === 'update') expect(second.peers).toContain('127.0.0.1:7001')
      expect(t.stats()).toMatchObject({ torrents: 1, peers: 2, leechers: 2, announces: 2 })
    })

    it(`${proto}: an unknown info hash is refused with a reason that says what to do`, async () => {
      const t = await startTracker({ allow: setAllowList([ALLOWED]) })
      const url = proto === 'http' ? `http://127.0.0.1:${t.httpPort}/announce` : `udp://127.0.0.1:${t.udpPort}`
      const r = await announceWith(url, UNKNOWN, 3, 7003)
      expect(r).toEqual({
        kind: 'warning',
        message: 'unknown info hash: this tracker only serves images packed on this server',
      })
      expect(t.stats().torrents).toBe(0)
    })
  }

  it('open mode (no allow-list) serves any info hash', async () => {
    const t = await startTracker()
    const r = await announceWith(`http://127.0.0.1:${t.httpPort}/announce`, UNKNOWN, 4, 7004)
    expect(r).toMatchObject({ kind: 'update', incomplete: 1 })
  })

  it('mounts into a caller-owned HTTP server through handleHttp and leaves other paths alone', async () => {
    const t = createTracker({ http: false, udp: false, logger: await quietLogger() })
    cleanup(() => t.stop())
    await t.start()
    expect(t.httpPort).toBeUndefined()
    const server = createServer((req, res) => {
      if (!t.handleHttp(req, res)) res.writeHead(299).end('app')
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    cleanup(() => new Promise<void>((resolve) => server.close(() => resolve())))
    const port = (server.address() as { port: number }).port
    const r = await announceWith(`http://127.0.0.1:${port}/announce`, ALLOWED, 5, 7005)
    expect(r).toMatchObject({ kind: 'update', incomplete: 1 })
    expect((await get(port, '/elsewhere')).status).toBe(299)
    expect(JSON.parse((await get(port, '/stats')).body.toString())).toMatchObject({ peers: 1 })
  })

  it('stop is idempotent and refuses a restart', async () => {
    const t = await startTracker()
    await Promise.all([t.stop(), t.stop()])
    await t.stop()
    await expect(t.start()).rejects.toThrow(/stopped/)
  })
})
