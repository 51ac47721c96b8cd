// The packer's index against the archive it describes and the tree it came
// from: every extent's archive bytes are the file's bytes at fileOffset, and
// every entry's metadata is the tree's.
import { createHash } from 'node:crypto'
import { lstat, mkdir, open, readFile, utimes, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { openArchive } from '../../common/archive/index.ts'
import { buildIndex, encodeIndex, type IndexEntry, parseIndex } from '../../common/tarindex/index.ts'
import { importAndPack } from '../packer/helpers.ts'
import { isRoot, tempDir } from '../support/tmp.ts'
import { buildFullTree } from '../support/tree.ts'

const BYTE_NAME = Buffer.from([0x6e, 0xff, 0xfe, 0x2d, 0xc3, 0xa9]) // "n", two non-UTF-8 bytes, "-é"
const SPARSE_SIZE = 3 << 20

/** Extra entries: a byte name, an empty file, a sparse file with three islands that ends in a hole. */
async function addExtras(tree: string): Promise<void> {
  await mkdir(join(tree, 'names'), { recursive: true })
  await writeFile(Buffer.concat([Buffer.from(`${tree}/names/`), BYTE_NAME]), 'bytes in the name\n')
  await writeFile(join(tree, 'names/empty'), '')
  const fh = await open(join(tree, 'var/lib/islands.img'), 'w')
  for (const [i, at] of [0, 1 << 20, 2 << 20].entries()) {
    await fh.write(Buffer.alloc(5000 + i, 0x41 + i), 0, undefined, at)
  }
  await fh.truncate(SPARSE_SIZE)
  await fh.close()
  // Fixed times, as buildFullTree gives its entries, so that two trees are identical.
  const fixed = new Date('2020-05-05T05:05:05Z')
  for (const p of ['names/empty', 'var/lib/islands.img', 'names', 'var/lib', ''])
    await utimes(join(tree, p), fixed, fixed)
  await utimes(Buffer.concat([Buffer.from(`${tree}/names/`), BYTE_NAME]), fixed, fixed)
}

async function readAt(file: string | Buffer, offset: number, length: number): Promise<Buffer> {
  const fh = await open(file, 'r')
  try {
    const b = Buffer.alloc(length)
    const { bytesRead } = await fh.read(b, 0, length, offset)
    return b.subarray(0, bytesRead)
  } finally {
    await fh.close()
  }
}

const kindOf = (st: Awaited<ReturnType<typeof lstat>>): IndexEntry['type'] =>
  st.isDirectory()
    ? 'directory'
    : st.isSymbolicLink()
      ? 'symlink'
      : st.isCharacterDevice()
        ? 'char'
        : st.isBlockDevice()
          ? 'block'
          : st.isFIFO()
            ? 'fifo'
            : 'file'

async function packTree(dir: string, compression: 'none' | 'zstd' = 'none') {
  const tree = join(dir, 'tree')
  await buildFullTree(tree, { sparseSize: 64 << 20 })
  await addExtras(tree)
  return { tree, res: await importAndPack(dir, tree, { compression }) }
}

describe.skipIf(!isRoot)('archive index of a packed tree (root)', () => {
  it('describes every entry, and every extent holds the file bytes at its offset', async () => {
    const dir = await tempDir()
    const { tree, res } = await packTree(dir)
    const m = res.info.manifest
    expect(m.index).toBeDefined()
    const bytes = await readFile(res.info.index as string)
    expect(bytes.length).toBe(m.index?.size)
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(m.index?.sha256)

    const index = parseIndex(bytes, { archiveSize: m.archive.size, maxBytes: bytes.length })
    expect(index.archiveSize).toBe(m.archive.size)
    // Built again from the archive: the same index, byte for byte.
    const rebuilt = await buildIndex(openArchive(res.info.archive))
    expect(encodeIndex(rebuilt).equals(bytes)).toBe(true)
    expect(encodeIndex(index).equals(bytes)).toBe(true)

    const seen = new Set<string>()
    let linked = 0
    for (const e of index.entries) {
      const rel = e.path.subarray(2) // "./"
      const abs = Buffer.concat([Buffer.from(`${tree}/`), rel])
      const st = await lstat(abs)
      const where = e.path.toString('latin1')
      seen.add(where)
      expect(e.type === 'link' ? 'file' : e.type, where).toBe(kindOf(st))
      expect(e.uid, where).toBe(st.uid)
      expect(e.gid, where).toBe(st.gid)
      if (e.type !== 'symlink') expect(e.mode, where).toBe(st.mode & 0o7777)
      if (e.type === 'link') {
        linked++
        expect(index.entries.some((t) => t.path.equals(e.linkpath) && t.headerOffset < e.headerOffset)).toBe(true)
        continue
      }
      if (e.type !== 'file') {
        expect(e.extents, where).toEqual([])
        continue
      }
      expect(e.size, where).toBe(st.size)
      let covered = 0
      for (const x of e.extents) {
        const archived = await readAt(res.info.archive, x.archiveOffset, x.length)
        const want = await readAt(abs, x.fileOffset, x.length)
        expect(archived.equals(want), `${where} @${x.fileOffset}`).toBe(true)
        covered += x.length
      }
      // Plain files are one extent; sparse ones store only their data islands.
      if (st.blocks * 512 >= st.size) expect(covered, where).toBe(st.size)
      else expect(covered, where).toBeLessThan(st.size)
    }
    expect(linked).toBe(1)
    expect(seen.has(`./names/${BYTE_NAME.toString('latin1')}`)).toBe(true)
    const islands = index.entries.find((e) => e.path.toString() === './var/lib/islands.img')
    expect(islands?.size).toBe(SPARSE_SIZE)
    expect(islands?.extents.map((x) => x.fileOffset)).toEqual([0, 1 << 20, 2 << 20])
    // Holes are found per file-system block, so each island's extent is block-rounded.
    for (const x of islands?.extents ?? []) expect(x.length >= 5000 && x.length < 1 << 20).toBe(true)
    const ping = index.entries.find((e) => e.path.toString() === './usr/bin/ping')
    expect([...(ping?.xattrs.keys() ?? [])]).toEqual(['security.capability', 'user.note'])
    expect(index.entries.find((e) => e.type === 'char')).toMatchObject({ devmajor: 4, devminor: 9 })
  })

  it('is deterministic: two packs of two identical trees give the same index bytes', async () => {
    const a = await packTree(await tempDir())
    const b = await packTree(await tempDir())
    expect(a.res.info.manifest.archive.sha256).toBe(b.res.info.manifest.archive.sha256)
    const ia = await readFile(a.res.info.index as string)
    const ib = await readFile(b.res.info.index as string)
    expect(ia.equals(ib)).toBe(true)
    expect(a.res.info.manifest.index).toEqual(b.res.info.manifest.index)
  })

  it('gives zstd archives no index', async () => {
    const { res } = await packTree(await tempDir(), 'zstd')
    expect(res.info.manifest.index).toBeUndefined()
    expect(res.info.index).toBeUndefined()
  })
})
