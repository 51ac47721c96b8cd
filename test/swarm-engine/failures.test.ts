// Failure behaviour: the seeder dies halfway; a peer sends corrupt data.
import { connect } from 'node:net'
import FSChunkStore from 'fs-chunk-store'
import { describe, expect, it } from 'vitest'
import { startSwarm } from '../../client/swarm/engine/index.ts'
import { tempDir } from '../support/tmp.ts'
import {
  cleanup,
  fileSha,
  makeImage,
  startTracker,
  stockSeeder,
  until,
  type Wt,
  webSeed,
  webtorrent,
} from './helpers.ts'

/** Sends a BitTorrent handshake; tells whether the other side answered one or closed. */
function handshake(port: number, infoHash: Buffer, peerId: Buffer): Promise<'handshake' | 'closed'> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1')
    let got = Buffer.alloc(0)
    sock.on('data', (d: Buffer) => {
      got = Buffer.concat([got, d])
      if (got.length >= 68) {
        sock.destroy()
        resolve('handshake')
      }
    })
    sock.on('close', () => resolve('closed'))
    sock.on('error', () => resolve('closed'))
    sock.setTimeout(10_000, () => reject(new Error('no answer to the handshake')))
    sock.write(
      Buffer.concat([Buffer.from([19]), Buffer.from('BitTorrent protocol'), Buffer.alloc(8), infoHash, peerId]),
    )
  })
}

describe('swarm engine: failures', () => {
  it('seeder killed halfway: two leechers finish from each other and from the web seed', async () => {
    const tracker = await startTracker()
    const seedDir = await tempDir()
    // A slow web seed, so that peers carry the load while the seeder lives.
    const ws = await webSeed(150)
    const img = await makeImage(seedDir, tracker, { webseed: ws })
    const seeder = await stockSeeder(img, seedDir, { uploadLimit: 1024 * 1024 })
    const dirs = [await tempDir(), await tempDir()]
    const [a, b] = await Promise.all(dirs.map((path) => startSwarm({ torrent: img.torrent, path })))
    if (!a || !b) throw new Error('unreachable')
    cleanup(() => a.destroy())
    cleanup(() => b.destroy())

    // Halfway: together they hold half the pieces' worth.
    await until(() => a.stats().piecesDownloaded + b.stats().piecesDownloaded >= img.pieces / 2, 'half the pieces')
    await seeder.stop()
    const fromSeeder = seeder.uploaded()
    const [sa, sb] = await Promise.all([a.done, b.done])

    for (const dir of dirs) expect(await fileSha(dir)).toBe(img.sha)
    for (const s of [sa, sb]) {
      expect(s.piecesDownloaded).toBe(img.pieces)
      expect(s.piecesFailed).toBe(0)
    }
    // The seeder sent less than one copy (it counts what it queued, so this
    // over-counts what arrived): the rest came from each other and the web seed.
    expect(fromSeeder).toBeLessThan(img.data.length)
    const eachOther = sa.bytesUp + sb.bytesUp
    const fromWebseed = sa.bytesFromWebseed + sb.bytesFromWebseed
    expect(eachOther).toBeGreaterThan(0)
    expect(sa.bytesFromPeers + sb.bytesFromPeers).toBeGreaterThanOrEqual(eachOther)
    expect(eachOther + fromWebseed + fromSeeder).toBeGreaterThanOrEqual(2 * img.data.length)
  })

  it('a single leecher falls back to the web seed when its only peer dies', async () => {
    const tracker = await startTracker()
    const seedDir = await tempDir()
    const ws = await webSeed(100)
    const img = await makeImage(seedDir, tracker, { webseed: ws })
    const seeder = await stockSeeder(img, seedDir, { uploadLimit: 1024 * 1024 })
    const dir = await tempDir()
    const a = await startSwarm({ torrent: img.torrent, path: dir })
    cleanup(() => a.destroy())
    await until(() => a.stats().bytesFromPeers > img.data.length / 4, 'a quarter from the seeder')
    await seeder.stop()
    const before = a.stats().bytesFromWebseed
    const st = await a.done
    expect(await fileSha(dir)).toBe(img.sha)
    expect(st.bytesFromWebseed).toBeGreaterThan(before)
    expect(st.bytesFromPeers).toBeLessThan(img.data.length)
  })

  it('a peer sending corrupt data is banned and the download still completes, verified', async () => {
    const tracker = await startTracker()
    const seedDir = await tempDir()
    const img = await makeImage(seedDir, tracker, { size: 2 * 1024 * 1024 })
    // The liar: a real peer (the engine) over a store that flips a byte of every block it reads.
    class LyingStore extends (FSChunkStore as unknown as new (
      ...a: unknown[]
    ) => {
      get(i: number, o: unknown, cb: (e: Error | null, b?: Uint8Array) => void): void
    }) {
      override get(i: number, o: unknown, cb: (e: Error | null, b?: Uint8Array) => void): void {
        const done = typeof o === 'function' ? (o as typeof cb) : cb
        super.get(i, typeof o === 'function' ? null : o, (e, b) => {
          if (b) b[0] = (b[0] as number) ^ 0xff
          done(e, b)
        })
      }
    }
    const liarClient = webtorrent()
    const liar: Wt = await new Promise((resolve) => {
      const t = liarClient.add(img.torrent, { path: seedDir, store: LyingStore, skipVerify: true })
      t.once('ready', () => resolve(t))
    })
    // The honest seeder is slow, so the leecher asks the liar for many pieces.
    await stockSeeder(img, seedDir, { uploadLimit: 1024 * 1024 })

    const dir = await tempDir()
    const warnings: string[] = []
    const a = await startSwarm({ torrent: img.torrent, path: dir, onWarning: (m) => warnings.push(m) })
    cleanup(() => a.destroy())
    const st = await a.done

    expect(await fileSha(dir)).toBe(img.sha)
    expect(st.piecesFailed).toBeGreaterThanOrEqual(1)
    expect(st.peersBanned).toBe(1)
    expect(warnings.some((w) => w.startsWith('banned peer 127.0.0.1:'))).toBe(true)
    expect(st.piecesDownloaded).toBe(img.pieces)
    // Banned for good: a connection with the liar's peer id is hung up on
    // before any handshake; another peer id gets the handshake back.
    const infoHash = Buffer.from(liar.infoHash as string, 'hex')
    expect(await handshake(a.port, infoHash, Buffer.from(liarClient.peerId as string, 'hex'))).toBe('closed')
    expect(await handshake(a.port, infoHash, Buffer.from('-XX0001-honestpeer01'))).toBe('handshake')
  })
})
