// A real transfer: one webtorrent client seeds the archive file (its normal
// fs store), another leeches it over loopback with the in-place store, so
// every verified piece goes straight into the installed tree. Afterwards the
// leecher serves the archive to a third client from the installed files.
import { dirname, join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import WebTorrent from 'webtorrent'
import { InPlaceStore, indexDigest, loadWrittenPieces, prepareInPlace } from '../../client/swarm/inplace/index.ts'
import { extractArchive, openArchive } from '../../common/archive/index.ts'
import { sha256File } from '../serve/harness.ts'
import { isRoot, tempDir } from '../support/tmp.ts'
import { buildFullTree } from '../support/tree.ts'
import { addExtras, buildIndex, packTree, pieceOf, sha256Of, shuffled, walk } from './helpers.ts'

// biome-ignore lint/suspicious/noExplicitAny: webtorrent ships no types
type Any = any

const clients: Any[] = []
afterEach(async () => {
  while (clients.length > 0) await new Promise((r) => clients.pop().destroy(r))
})

function client(): Any {
  const c: Any = new WebTorrent({
    dht: false,
    lsd: false,
    utp: false,
    tracker: false,
    webSeeds: false,
    natUpnp: false,
    natPmp: false,
  })
  clients.push(c)
  return c
}

function listening(c: Any): Promise<number> {
  return new Promise((resolve) =>
    c.listening ? resolve(c.torrentPort) : c.once('listening', () => resolve(c.torrentPort)),
  )
}

/** Adds the torrent to `c`; resolves when it is complete, after connecting it to `peerPort` when given. */
function complete(c: Any, torrent: Buffer, opts: Record<string, unknown>, peerPort?: number): Promise<Any> {
  return new Promise((resolve, reject) => {
    const t = c.add(torrent, opts)
    t.on('error', reject)
    c.on('error', reject)
    t.on('ready', () => {
      if (peerPort !== undefined) t.addPeer(`127.0.0.1:${peerPort}`)
    })
    t.on('done', () => resolve(t))
  })
}

describe.skipIf(!isRoot)('in-place store under webtorrent (root)', () => {
  it('downloads over loopback straight into the tree, then seeds from it', async () => {
    const dir = await tempDir()
    const tree = join(dir, 'tree')
    await buildFullTree(tree, { sparseSize: 16 << 20 })
    await addExtras(tree)
    const p = await packTree(dir, tree)
    const index = await buildIndex(p.archive)
    const ref = join(dir, 'ref')
    await extractArchive(openArchive(p.archive), ref)

    const seeder = client()
    await complete(seeder, p.torrent, { path: dirname(p.archive) })
    const seedPort = await listening(seeder)

    const target = join(dir, 'target')
    const inplace = await prepareInPlace({ index, targetDir: target, pieceLength: p.pieceLength, infoHash: p.infoHash })
    const leecher = client()
    const lt = await complete(
      leecher,
      p.torrent,
      {
        path: join(dir, 'unused'),
        store: InPlaceStore,
        storeOpts: { inplace },
        storeCacheSlots: 0,
        strategy: 'rarest',
      },
      seedPort,
    )
    expect(lt.received).toBeGreaterThanOrEqual(p.size)
    expect(inplace.missing).toBe(0)
    await inplace.finalize()
    await inplace.freeze()

    // A third node gets the archive from the installed tree alone.
    await new Promise((r) => seeder.destroy(r))
    clients.splice(clients.indexOf(seeder), 1)
    const leechPort = await listening(leecher)
    const third = client()
    const out = join(dir, 'third')
    await complete(third, p.torrent, { path: out }, leechPort)
    expect(await sha256File(join(out, lt.name))).toBe(p.sha256)

    await new Promise((r) => leecher.destroy(r))
    clients.splice(clients.indexOf(leecher), 1)
    await inplace.cleanup()
    expect(await walk(target)).toEqual(await walk(ref))
  })
  it('resumes: with the saved bitfield only the missing pieces are downloaded', async () => {
    const dir = await tempDir()
    const tree = join(dir, 'tree')
    await buildFullTree(tree, { sparseSize: 16 << 20 })
    const p = await packTree(dir, tree)
    const index = await buildIndex(p.archive)
    const target = join(dir, 'target')
    const init = { index, targetDir: target, pieceLength: p.pieceLength, infoHash: p.infoHash }
    const first = await prepareInPlace(init)
    const half = shuffled(first.pieceCount, 3).slice(0, Math.floor(first.pieceCount / 2))
    for (const i of half) await first.writePiece(i, await pieceOf(p.archive, p.pieceLength, p.size, i))
    await first.close()

    const bitfield = await loadWrittenPieces(target, {
      infoHash: p.infoHash,
      indexHash: indexDigest(index),
      pieceCount: first.pieceCount,
    })
    expect(bitfield).not.toBeNull()
    const seeder = client()
    await complete(seeder, p.torrent, { path: dirname(p.archive) })
    const inplace = await prepareInPlace(init)
    expect(inplace.resumed).toBe(true)
    const lt = await complete(
      client(),
      p.torrent,
      { path: join(dir, 'unused'), store: InPlaceStore, storeOpts: { inplace }, storeCacheSlots: 0, bitfield },
      await listening(seeder),
    )
    const missingBytes = p.size - half.length * p.pieceLength
    // `received` counts bytes from peers (`downloaded` counts pieces held, the resumed ones too).
    expect(lt.received).toBeLessThanOrEqual(missingBytes + p.pieceLength)
    expect(lt.received).toBeGreaterThanOrEqual(missingBytes - p.pieceLength)
    await inplace.finalize()
    expect(await sha256Of(inplace.readArchive())).toBe(p.sha256)
  })
})
