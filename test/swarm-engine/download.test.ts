// One seeder, one leecher, both the engine, over loopback with a real tracker.
import { readFile } from 'node:fs/promises'
import { type AddressInfo, createServer } from 'node:net'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { startSwarm } from '../../client/swarm/engine/index.ts'
import { isImgswarmError } from '../../common/errors.ts'
import { buildTorrent } from '../../seeder/packer/torrent.ts'
import { tempDir } from '../support/tmp.ts'
import { cleanup, fileSha, fullBitfield, makeImage, NAME, PIECE, startTracker } from './helpers.ts'

describe('swarm engine: download', () => {
  it("counts a peer at the server's address as the server (its first seeder), others not", async () => {
    const tracker = await startTracker()
    const seedDir = await tempDir()
    const img = await makeImage(seedDir, tracker)
    const seeder = await startSwarm({ torrent: img.torrent, path: seedDir, bitfield: fullBitfield(img.pieces) })
    cleanup(() => seeder.destroy())
    await seeder.done
    // Loopback peers report 127.0.0.1 (or ::ffff:127.0.0.1): the seeder is "the server" here.
    const asServer = await startSwarm({ torrent: img.torrent, path: await tempDir(), serverAddresses: ['127.0.0.1'] })
    cleanup(() => asServer.destroy())
    const a = await asServer.done
    expect(a.bytesFromPeers).toBe(img.data.length)
    expect(a.bytesFromServerPeer).toBe(img.data.length)
    await asServer.destroy()
    const other = await startSwarm({ torrent: img.torrent, path: await tempDir(), serverAddresses: ['10.99.0.1'] })
    cleanup(() => other.destroy())
    const b = await other.done
    expect(b.bytesFromPeers).toBe(img.data.length)
    expect(b.bytesFromServerPeer).toBe(0)
  })

  it('a leecher downloads the whole file from a seeder, verified, and reports it', async () => {
    const tracker = await startTracker()
    const seedDir = await tempDir()
    const img = await makeImage(seedDir, tracker)
    const seeder = await startSwarm({ torrent: img.torrent, path: seedDir, bitfield: fullBitfield(img.pieces) })
    cleanup(() => seeder.destroy())
    await seeder.done

    const dir = await tempDir()
    const progress: number[] = []
    const leecher = await startSwarm({ torrent: img.torrent, path: dir, onProgress: (s) => progress.push(s.percent) })
    cleanup(() => leecher.destroy())
    const st = await leecher.done

    expect(await fileSha(dir)).toBe(img.sha)
    expect(st.percent).toBe(100)
    expect(st.piecesTotal).toBe(img.pieces)
    expect(st.piecesHadAtStart).toBe(0)
    expect(st.piecesDownloaded).toBe(img.pieces)
    expect(st.bytesFromPeers).toBe(img.data.length)
    expect(st.bytesFromWebseed).toBe(0)
    expect(st.bytesFromServerPeer).toBe(0)
    expect(st.piecesFailed).toBe(0)
    expect(st.peersBanned).toBe(0)
    expect([...leecher.bitfield()]).toEqual([...fullBitfield(img.pieces)])
    // The seeder served it: uploads are counted.
    expect(seeder.stats().bytesUp).toBe(img.data.length)

    await leecher.destroy()
    await leecher.destroy() // idempotent
    expect(leecher.stats().piecesDownloaded).toBe(img.pieces)
    // destroy closes the store but never deletes what was downloaded
    expect((await readFile(join(dir, NAME))).length).toBe(img.data.length)
    await expect(leecher.done).resolves.toMatchObject({ percent: 100 })
  })

  it('refuses a torrent that is not private, and a resume bitfield of the wrong size', async () => {
    const pieces = Buffer.alloc(40)
    const open = buildTorrent({
      name: NAME,
      length: 2 * PIECE,
      pieceLength: PIECE,
      pieces,
      announce: ['http://127.0.0.1:1/announce'],
      webseeds: [],
      createdBy: 'test',
    })
    // buildTorrent always sets private; clear the flag in the bencoded info.
    const notPrivate = Buffer.from(open.file.toString('latin1').replace('7:privatei1e', '7:privatei0e'), 'latin1')
    const e1 = await startSwarm({ torrent: notPrivate, path: await tempDir() }).catch((e) => e)
    expect(isImgswarmError(e1, 'IMGSWARM_ERR_SWARM_TORRENT')).toBe(true)
    const e2 = await startSwarm({ torrent: open.file, path: await tempDir(), bitfield: new Uint8Array(3) }).catch(
      (e) => e,
    )
    expect(isImgswarmError(e2, 'IMGSWARM_ERR_SWARM_BITFIELD')).toBe(true)
  })

  it('a listen port in use is a coded error', async () => {
    const tracker = await startTracker()
    const img = await makeImage(await tempDir(), tracker)
    const busy = createServer()
    await new Promise<void>((r) => busy.listen(0, r))
    cleanup(() => new Promise<void>((r) => busy.close(() => r())))
    const port = (busy.address() as AddressInfo).port
    const e = await startSwarm({ torrent: img.torrent, path: await tempDir(), port }).catch((x) => x)
    expect(isImgswarmError(e, 'IMGSWARM_ERR_SWARM_LISTEN')).toBe(true)
  })

  it('an abort signal stops the download with a coded error', async () => {
    const tracker = await startTracker()
    const img = await makeImage(await tempDir(), tracker)
    const ac = new AbortController()
    const s = await startSwarm({ torrent: img.torrent, path: await tempDir(), signal: ac.signal })
    cleanup(() => s.destroy())
    ac.abort()
    const e = await s.done.catch((x) => x)
    expect(isImgswarmError(e, 'IMGSWARM_ERR_SWARM_ABORTED')).toBe(true)
  })
})
