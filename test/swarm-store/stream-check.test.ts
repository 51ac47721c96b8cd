// The whole-archive check made while pieces are written (StreamCheck), the
// compact index table it and the store read entries from, and the in-order
// tie-break of rarest-first that makes the check mostly read nothing back.
import { createHash } from 'node:crypto'
import { mkdir, open, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { seedsOnly } from '../../client/swarm/engine/in-order.ts'
import { applyTuning } from '../../client/swarm/engine/tuning.ts'
import { indexDigest, prepareInPlace } from '../../client/swarm/inplace/index.ts'
import { IndexTable } from '../../common/tarindex/index.ts'
import { isRoot, tempDir } from '../support/tmp.ts'
import { buildFullTree } from '../support/tree.ts'
import { addExtras, buildIndex, packTree, pieceOf, shuffled } from './helpers.ts'

async function smallImage(dir: string) {
  const tree = join(dir, 'tree')
  await mkdir(join(tree, 'etc'), { recursive: true })
  await writeFile(join(tree, 'etc/hostname'), 'golden\n')
  await writeFile(join(tree, 'big'), createHash('sha512').update('x').digest().toString('hex').repeat(6000))
  for (let i = 0; i < 40; i++) await writeFile(join(tree, 'etc', `f${i}`), `file ${i}\n`.repeat(i * 50))
  const p = await packTree(dir, tree)
  return { p, index: await buildIndex(p.archive) }
}

describe.skipIf(!isRoot)('IndexTable (root: the fixture has foreign owners and devices)', () => {
  it('gives back every entry of a real index exactly, and the same index digest', async () => {
    const dir = await tempDir()
    const tree = join(dir, 'tree')
    await buildFullTree(tree, { sparseSize: 4 << 20 })
    await addExtras(tree)
    const p = await packTree(dir, tree)
    const index = await buildIndex(p.archive)
    const t = IndexTable.from(index)
    expect(t.length).toBe(index.entries.length)
    expect(t.archiveSize).toBe(index.archiveSize)
    for (const [i, e] of index.entries.entries()) expect(t.entry(i), String(e.path)).toEqual(e)
    // The fixture has what the table packs specially: links, extents of a sparse file, xattrs (as root).
    expect(index.entries.some((e) => e.type === 'symlink' && e.linkpath.length > 0)).toBe(true)
    expect(index.entries.some((e) => e.extents.length > 1)).toBe(true)
    expect(index.entries.some((e) => e.xattrs.size > 0)).toBe(true)
    expect(indexDigest(t)).toBe(indexDigest(index))
    expect(() => t.add(index.entries[0] as (typeof index.entries)[0])).toThrow(/after finish/)
  })
})

describe.skipIf(!isRoot)('StreamCheck: the archive checked while pieces are written (root)', () => {
  it('gives the archive SHA-256 from pieces written out of order, reading back only what it could not keep', async () => {
    const dir = await tempDir()
    const { p, index } = await smallImage(dir)
    const t = await prepareInPlace({
      index,
      targetDir: join(dir, 't'),
      pieceLength: p.pieceLength,
      infoHash: p.infoHash,
    })
    // Room for two pieces only: most out-of-order pieces are dropped and read back later.
    const check = t.startCheck(2 * p.pieceLength)
    const order = shuffled(t.pieceCount, 3)
    for (const i of order) await t.writePiece(i, await pieceOf(p.archive, p.pieceLength, p.size, i))
    const got = await check.done
    expect(got).toEqual({ sha256: p.sha256, bytes: p.size, entries: index.entries.length })
    expect(check.stats.fromMemory + check.stats.readBack).toBe(t.pieceCount)
    expect(check.stats.readBack).toBeGreaterThan(0)
    expect(check.stats.fromMemory).toBeGreaterThan(0)
    await t.cleanup()
  })

  it('in order, hashes every piece from memory', async () => {
    const dir = await tempDir()
    const { p, index } = await smallImage(dir)
    const t = await prepareInPlace({
      index,
      targetDir: join(dir, 't'),
      pieceLength: p.pieceLength,
      infoHash: p.infoHash,
    })
    const check = t.startCheck(p.pieceLength)
    for (let i = 0; i < t.pieceCount; i++) await t.writePiece(i, await pieceOf(p.archive, p.pieceLength, p.size, i))
    expect((await check.done).sha256).toBe(p.sha256)
    expect(check.stats).toEqual({ fromMemory: t.pieceCount, readBack: 0 })
    await t.cleanup()
  })

  it('reads back the pieces of an earlier session from disk, and fails if the disk lost them', async () => {
    const dir = await tempDir()
    const { p, index } = await smallImage(dir)
    const init = { index, targetDir: join(dir, 't'), pieceLength: p.pieceLength, infoHash: p.infoHash }
    const t1 = await prepareInPlace(init)
    const first = shuffled(t1.pieceCount, 5).slice(0, Math.ceil(t1.pieceCount / 2))
    for (const i of first) await t1.writePiece(i, await pieceOf(p.archive, p.pieceLength, p.size, i))
    await t1.close()
    // What a power loss can do: a piece recorded as written whose bytes never reached the disk.
    const big = index.entries.find((e) => e.path.toString().endsWith('big'))?.extents[0]
    const lost = first.find(
      (k) =>
        big && k * p.pieceLength >= big.archiveOffset + 1 && (k + 1) * p.pieceLength < big.archiveOffset + big.length,
    )
    expect(big && lost !== undefined).toBe(true)
    const at = (lost as number) * p.pieceLength - (big?.archiveOffset ?? 0)
    const fh = await open(join(dir, 't', 'big'), 'r+')
    await fh.write(Buffer.from('LOST'), 0, 4, at)
    await fh.close()

    const t2 = await prepareInPlace(init)
    expect(t2.resumed).toBe(true)
    const check = t2.startCheck()
    for (let i = 0; i < t2.pieceCount; i++) {
      if (!t2.hasPiece(i)) await t2.writePiece(i, await pieceOf(p.archive, p.pieceLength, p.size, i))
    }
    const got = await check.done
    expect(got.sha256).not.toBe(p.sha256)
    expect(check.stats.readBack).toBeGreaterThanOrEqual(first.length)
    await t2.cleanup()
  })

  it('a cancelled check rejects instead of waiting for pieces that will not come', async () => {
    const dir = await tempDir()
    const { p, index } = await smallImage(dir)
    const t = await prepareInPlace({
      index,
      targetDir: join(dir, 't'),
      pieceLength: p.pieceLength,
      infoHash: p.infoHash,
    })
    const check = t.startCheck()
    await t.writePiece(0, await pieceOf(p.archive, p.pieceLength, p.size, 0))
    await t.close()
    await expect(check.done).rejects.toThrow(/IMGSWARM_ERR_INPLACE_CLOSED|stopped/)
    await t.cleanup()
  })
})

describe('rarest first with in-order ties while only seeds are connected', () => {
  it('picks the lowest of the rarest pieces among seeds, at random once a leecher is connected', async () => {
    applyTuning()
    const { default: RarityMap } = (await import('webtorrent/lib/rarity-map.js')) as unknown as {
      default: new (t: unknown) => { getRarestPiece(f?: (i: number) => boolean): number; _pieces: number[] }
    }
    const wires: { isSeeder?: boolean; peerPieces: { get(i: number): boolean }; on(): void; once(): void }[] = []
    const torrent = { pieces: new Array(200), wires, on: () => undefined }
    const map = new RarityMap(torrent)
    map._pieces.fill(2)
    map._pieces[150] = 1
    map._pieces[170] = 1
    const wire = (isSeeder: boolean) => ({ isSeeder, peerPieces: { get: () => true }, on: () => {}, once: () => {} })
    wires.push(wire(true), wire(true))
    expect(seedsOnly(wires)).toBe(true)
    // Rarest first still comes first; the tie between 150 and 170 goes to the lower one, every time.
    for (let k = 0; k < 20; k++) expect(map.getRarestPiece()).toBe(150)
    expect(map.getRarestPiece((i) => i !== 150)).toBe(170)
    map._pieces.fill(2)
    expect(map.getRarestPiece((i) => i >= 40)).toBe(40)
    // A leecher: webtorrent's random choice among the equally rare pieces.
    wires.push(wire(false))
    expect(seedsOnly(wires)).toBe(false)
    const picks = new Set(Array.from({ length: 40 }, () => map.getRarestPiece()))
    expect(picks.size).toBeGreaterThan(5)
  })
})
