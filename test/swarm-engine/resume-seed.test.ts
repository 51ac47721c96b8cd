// Resume from a bitfield after an interrupted download, and the seeding
// phase after completion.
import { describe, expect, it } from 'vitest'
import { startSwarm } from '../../client/swarm/engine/index.ts'
import { tempDir } from '../support/tmp.ts'
import {
  cleanup,
  fileSha,
  fullBitfield,
  makeImage,
  PIECE,
  startTracker,
  stockSeeder,
  until,
  webtorrent,
} from './helpers.ts'

const count = (bits: Uint8Array) => [...bits].reduce((n, b) => n + b.toString(2).replaceAll('0', '').length, 0)

describe('swarm engine: resume and seeding', () => {
  it('resumes an interrupted download without fetching a verified piece again', async () => {
    const tracker = await startTracker()
    const seedDir = await tempDir()
    const img = await makeImage(seedDir, tracker)
    await stockSeeder(img, seedDir, { uploadLimit: 2 * 1024 * 1024 })
    const dir = await tempDir()

    // First run: stopped partway, as a killed client would be.
    const first = await startSwarm({ torrent: img.torrent, path: dir })
    cleanup(() => first.destroy())
    await until(() => first.stats().piecesDownloaded >= img.pieces / 3, 'a third of the pieces')
    await first.destroy()
    const bits = first.bitfield()
    const had = count(bits)
    expect(had).toBeGreaterThanOrEqual(Math.floor(img.pieces / 3))
    expect(had).toBeLessThan(img.pieces)

    // Second run over the same folder, given what the first one verified.
    const second = await startSwarm({ torrent: img.torrent, path: dir, bitfield: bits })
    cleanup(() => second.destroy())
    expect(second.stats().piecesHadAtStart).toBe(had)
    const st = await second.done
    expect(await fileSha(dir)).toBe(img.sha)
    expect(st.piecesHadAtStart).toBe(had)
    expect(st.piecesDownloaded).toBe(img.pieces - had)
    // Bytes fetched: at most the missing pieces (the last piece is short).
    expect(st.bytesDown).toBeLessThanOrEqual((img.pieces - had) * PIECE)
    expect(st.bytesDown).toBeGreaterThan((img.pieces - had - 1) * PIECE)
  })

  it('a complete bitfield means nothing to download: done at once', async () => {
    const tracker = await startTracker()
    const seedDir = await tempDir()
    const img = await makeImage(seedDir, tracker)
    const s = await startSwarm({ torrent: img.torrent, path: seedDir, bitfield: fullBitfield(img.pieces) })
    cleanup(() => s.destroy())
    const st = await s.done
    expect(st).toMatchObject({ piecesHadAtStart: img.pieces, piecesDownloaded: 0, bytesDown: 0, percent: 100 })
  })

  it('seedWhileNeeded returns once the other leecher has everything', async () => {
    const tracker = await startTracker()
    const seedDir = await tempDir()
    const img = await makeImage(seedDir, tracker)
    const seeder = await stockSeeder(img, seedDir)
    const a = await startSwarm({ torrent: img.torrent, path: await tempDir() })
    cleanup(() => a.destroy())
    await a.done
    await seeder.stop()

    // B can only get the image from A now.
    const dirB = await tempDir()
    const b = await startSwarm({ torrent: img.torrent, path: dirB })
    cleanup(() => b.destroy())
    await until(() => a.stats().peers > 0, 'B to connect to A')
    let bDoneAt = 0
    void b.done.then(() => {
      bDoneAt = Date.now()
    })
    const st = await a.seedWhileNeeded({ maxMs: 60_000, quietMs: 500 })
    const returnedAt = Date.now()
    expect(bDoneAt).toBeGreaterThan(0)
    expect(returnedAt).toBeGreaterThanOrEqual(bDoneAt)
    expect(st.bytesUp).toBeGreaterThanOrEqual(img.data.length)
    expect(await fileSha(dirB)).toBe(img.sha)
  })

  it('seedWhileNeeded stops at maxMs while a slow peer still needs pieces', async () => {
    const tracker = await startTracker()
    const seedDir = await tempDir()
    const img = await makeImage(seedDir, tracker)
    const a = await startSwarm({ torrent: img.torrent, path: seedDir, bitfield: fullBitfield(img.pieces) })
    cleanup(() => a.destroy())
    await a.done
    // A real, slow leecher: 64 KiB/s, so it needs a minute for the image.
    const slow = webtorrent({ downloadLimit: 64 * 1024 })
    const t = slow.add(img.torrent, { path: await tempDir() })
    await until(() => a.stats().peers > 0, 'the slow peer to connect')
    const t0 = Date.now()
    const st = await a.seedWhileNeeded({ maxMs: 1500, quietMs: 200 })
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1500)
    expect(t.done).toBe(false)
    expect(st.bytesUp).toBeGreaterThan(0)
  })
})
