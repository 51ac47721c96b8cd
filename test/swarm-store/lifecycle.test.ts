// Resume after a stop, the freeze rule for seeding after the install, and
// the refusals (non-empty target, pieces out of range, missing pieces).
import { mkdir, rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { InPlaceStore, indexDigest, loadWrittenPieces, prepareInPlace } from '../../client/swarm/inplace/index.ts'
import { extractArchive, openArchive } from '../../common/archive/index.ts'
import { rejectsWith } from '../archive/helpers.ts'
import { isRoot, tempDir } from '../support/tmp.ts'
import { buildIndex, feed, type Packed, packTree, pieceOf, piecesOf, sha256Of, shuffled, walk } from './helpers.ts'

/** A small tree: three files spread over many 16 KiB pieces, one of them shared by two files. */
async function smallImage(dir: string) {
  const tree = join(dir, 'tree')
  await mkdir(join(tree, 'etc/ssh'), { recursive: true })
  await writeFile(join(tree, 'etc/hostname'), 'golden\n')
  await writeFile(join(tree, 'etc/ssh/ssh_host_key'), 'k'.repeat(50_000))
  await writeFile(join(tree, 'big'), Buffer.alloc(300_000, 9))
  const p = await packTree(dir, tree)
  return { p, index: await buildIndex(p.archive) }
}

function bitsOf(bits: Uint8Array, n: number): number[] {
  return Array.from({ length: n }, (_, i) => i).filter((i) => ((bits[i >> 3] ?? 0) & (0x80 >> (i & 7))) !== 0)
}

async function writeAll(p: Packed, t: Awaited<ReturnType<typeof prepareInPlace>>, order: number[]) {
  for (const i of order) await t.writePiece(i, await pieceOf(p.archive, p.pieceLength, p.size, i))
}

describe.skipIf(!isRoot)('in-place store life cycle (root)', () => {
  it('resumes: written pieces are recorded, reloaded and not needed again', async () => {
    const dir = await tempDir()
    const { p, index } = await smallImage(dir)
    const target = join(dir, 'target')
    const init = { index, targetDir: target, pieceLength: p.pieceLength, infoHash: p.infoHash }
    const t1 = await prepareInPlace(init)
    const n = t1.pieceCount
    const first = shuffled(n, 7).slice(0, Math.floor(n / 2))
    await writeAll(p, t1, first)
    await t1.close()

    const expect1 = { infoHash: p.infoHash, indexHash: indexDigest(index), pieceCount: n }
    const bits = await loadWrittenPieces(target, expect1)
    expect(bits && bitsOf(bits, n)).toEqual([...first].sort((a, b) => a - b))
    expect(await loadWrittenPieces(target, { ...expect1, infoHash: '00'.repeat(20) })).toBeNull()
    expect(await loadWrittenPieces(target, { ...expect1, indexHash: 'x' })).toBeNull()
    await rejectsWith(prepareInPlace({ ...init, infoHash: 'ab'.repeat(20) }), 'IMGSWARM_ERR_INPLACE_OTHER_INSTALL')

    const t2 = await prepareInPlace(init)
    expect(t2.resumed).toBe(true)
    expect(t2.missing).toBe(n - first.length)
    const rest = shuffled(n, 9).filter((i) => !t2.hasPiece(i))
    expect(rest.length).toBe(n - first.length)
    await writeAll(p, t2, rest)
    await t2.finalize()
    expect(await sha256Of(t2.readArchive())).toBe(p.sha256)
    await t2.cleanup()
    const ref = join(dir, 'ref')
    await extractArchive(openArchive(p.archive), ref)
    expect(await walk(target)).toEqual(await walk(ref))
  })

  it('after freeze, refuses pieces of files changed since the install and serves the rest', async () => {
    const dir = await tempDir()
    const { p, index } = await smallImage(dir)
    const target = join(dir, 'target')
    const t = await feed(p, index, target)
    await t.finalize()
    await t.freeze()
    const pieces = (name: string) => {
      const e = index.entries.find((x) => x.path.toString() === `./${name}`)
      if (!e) throw new Error(name)
      return piecesOf(e, p.pieceLength)
    }
    const hostname = pieces('etc/hostname')
    const key = pieces('etc/ssh/ssh_host_key')
    const big = pieces('big')
    const all = [...hostname, ...key, ...big]
    for (const i of all)
      expect((await t.readPiece(i)).equals(await pieceOf(p.archive, p.pieceLength, p.size, i))).toBe(true)

    // Same size, new bytes: ctime gives it away.
    await writeFile(join(target, 'etc/hostname'), 'node01\n')
    // Deleted (host keys are regenerated).
    await rm(join(target, 'etc/ssh/ssh_host_key'))
    for (const i of [...hostname, ...key]) await rejectsWith(t.readPiece(i), 'IMGSWARM_ERR_INPLACE_CHANGED')
    const untouched = big.filter((i) => !hostname.includes(i) && !key.includes(i))
    expect(untouched.length).toBeGreaterThan(5)
    for (const i of untouched) {
      expect((await t.readPiece(i)).equals(await pieceOf(p.archive, p.pieceLength, p.size, i))).toBe(true)
    }
    // Replaced by rename, and appended to: refused too.
    await writeFile(join(target, 'big.new'), Buffer.alloc(300_000, 9))
    await rename(join(target, 'big.new'), join(target, 'big'))
    await rejectsWith(t.readPiece(untouched[0] as number), 'IMGSWARM_ERR_INPLACE_CHANGED')
    await t.cleanup()
    await rejectsWith(t.readPiece(0), 'IMGSWARM_ERR_INPLACE_CLOSED')
  })

  it('refuses a non-empty target, pieces out of range, missing pieces and early finalize', async () => {
    const dir = await tempDir()
    const { p, index } = await smallImage(dir)
    const target = join(dir, 'target')
    await mkdir(target)
    await writeFile(join(target, 'old-file'), 'x')
    const init = { index, targetDir: target, pieceLength: p.pieceLength, infoHash: p.infoHash }
    await rejectsWith(prepareInPlace(init), 'IMGSWARM_ERR_INPLACE_NOT_EMPTY')
    await rm(join(target, 'old-file'))
    await mkdir(join(target, 'lost+found'))

    const t = await prepareInPlace(init)
    const n = t.pieceCount
    const piece0 = await pieceOf(p.archive, p.pieceLength, p.size, 0)
    for (const bad of [-1, n, 1.5, Number.NaN]) {
      await rejectsWith(t.writePiece(bad, piece0), 'IMGSWARM_ERR_INPLACE_PIECE_RANGE')
      await rejectsWith(t.readPiece(bad), 'IMGSWARM_ERR_INPLACE_PIECE_RANGE')
    }
    await rejectsWith(t.writePiece(0, piece0.subarray(1)), 'IMGSWARM_ERR_INPLACE_PIECE_RANGE')
    await rejectsWith(t.writePiece(n - 1, piece0), 'IMGSWARM_ERR_INPLACE_PIECE_RANGE')
    await rejectsWith(t.readPiece(0), 'IMGSWARM_ERR_INPLACE_NOT_WRITTEN')
    await t.writePiece(0, piece0)
    await rejectsWith(t.readPiece(0, 10, p.pieceLength), 'IMGSWARM_ERR_INPLACE_PIECE_RANGE')
    await rejectsWith(t.readPiece(0, -1, 5), 'IMGSWARM_ERR_INPLACE_PIECE_RANGE')
    expect((await t.readPiece(0, 10, 20)).equals(piece0.subarray(10, 30))).toBe(true)
    await rejectsWith(t.finalize(), 'IMGSWARM_ERR_INPLACE_INCOMPLETE')
    await rejectsWith(t.freeze(), 'IMGSWARM_ERR_INPLACE_CLOSED')
    // The webtorrent face: callbacks, and nothing after close.
    const store = new InPlaceStore(p.pieceLength, { inplace: t, length: p.size })
    expect(() => new InPlaceStore(p.pieceLength * 2, { inplace: t })).toThrow(/pieces are/)
    const got = await new Promise<Buffer | undefined>((res, rej) => store.get(0, (e, b) => (e ? rej(e) : res(b))))
    expect(got?.equals(piece0)).toBe(true)
    const missing = await new Promise<Error | null>((res) => store.get(1, { offset: 0, length: 10 }, (e) => res(e)))
    expect(missing).toMatchObject({ code: 'IMGSWARM_ERR_INPLACE_NOT_WRITTEN' })
    await new Promise((res) => store.close(res))
    const after = await new Promise<Error | null>((res) => store.put(1, piece0, (e) => res(e)))
    expect(after).toMatchObject({ code: 'IMGSWARM_ERR_INPLACE_CLOSED' })
    await t.close()
  })
  it('stops writing after a failed write (the byte counts are no longer exact)', async () => {
    const dir = await tempDir()
    const { p, index } = await smallImage(dir)
    const target = join(dir, 'target')
    const t = await prepareInPlace({ index, targetDir: target, pieceLength: p.pieceLength, infoHash: p.infoHash })
    const big = index.entries.find((x) => x.path.toString() === './big')
    const [a, b] = piecesOf(big as (typeof index.entries)[number], p.pieceLength).slice(2)
    await rm(join(target, 'big'))
    await rejectsWith(
      t.writePiece(a as number, await pieceOf(p.archive, p.pieceLength, p.size, a as number)),
      'IMGSWARM_ERR_EXTRACT_IO',
    )
    await rejectsWith(t.writePiece(0, await pieceOf(p.archive, p.pieceLength, p.size, 0)), 'IMGSWARM_ERR_EXTRACT_IO')
    expect(t.hasPiece(0) || t.hasPiece(a as number) || t.hasPiece(b as number)).toBe(false)
    await t.close()
  })
})
