// Helpers for the in-place store tests: pack a real tree, build its archive
// index as the packer does, feed pieces, and walk trees by byte names to
// compare them.
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { lstat, mkdir, open, readdir, readFile, readlink, utimes, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { type InPlaceTarget, prepareInPlace } from '../../client/swarm/inplace/index.ts'
import { buildIndex as buildArchiveIndex } from '../../common/tarindex/index.ts'
import type { ArchiveIndex, IndexEntry } from '../../common/tarindex/types.ts'
import { packVersion, Store } from '../../seeder/index.ts'

const run = promisify(execFile)

export interface Packed {
  archive: string
  torrent: Buffer
  infoHash: string
  pieceLength: number
  size: number
  sha256: string
}

/** Imports `tree` into a store under `dir` and packs it uncompressed with small pieces. */
export async function packTree(dir: string, tree: string, pieceLength = 16384): Promise<Packed> {
  const store = new Store(join(dir, 'store'))
  const v = await store.import('image', tree, 'img')
  const { info } = await packVersion(store, 'image', v.ref, {
    compression: 'none',
    pieceLength,
    announce: ['http://127.0.0.1:1/announce'],
    webseeds: [],
  })
  const m = info.manifest
  return {
    archive: info.archive,
    torrent: await readFile(info.torrent),
    infoHash: m.torrent.infoHash,
    pieceLength: m.torrent.pieceLength,
    size: m.archive.size,
    sha256: m.archive.sha256,
  }
}

async function* chunksOf(b: Buffer): AsyncGenerator<Buffer> {
  for (let i = 0; i < b.length; i += 65536) yield b.subarray(i, i + 65536)
}

/** The archive index of an archive (file path or bytes), as the packer builds it. */
export async function buildIndex(archive: string | Buffer): Promise<ArchiveIndex> {
  const src = typeof archive === 'string' ? createReadStream(archive, { highWaterMark: 1 << 20 }) : chunksOf(archive)
  return buildArchiveIndex(src as AsyncIterable<Buffer>)
}

/** Piece `i` of the archive file. */
export async function pieceOf(archive: string, pieceLength: number, size: number, i: number): Promise<Buffer> {
  const len = Math.min(pieceLength, size - i * pieceLength)
  const b = Buffer.alloc(len)
  const fh = await open(archive, 'r')
  try {
    await fh.read(b, 0, len, i * pieceLength)
  } finally {
    await fh.close()
  }
  return b
}

/** A fixed permutation of 0..n-1 (seeded, so a failure can be replayed). */
export function shuffled(n: number, seed = 1): number[] {
  const a = Array.from({ length: n }, (_, i) => i)
  let s = seed
  for (let i = n - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2 ** 31
    const j = s % (i + 1)
    ;[a[i], a[j]] = [a[j] as number, a[i] as number]
  }
  return a
}

/** Prepares `target` and writes the pieces `order` (default: all, shuffled) straight into it. */
export async function feed(p: Packed, index: ArchiveIndex, target: string, order?: number[]): Promise<InPlaceTarget> {
  const t = await prepareInPlace({ index, targetDir: target, pieceLength: p.pieceLength, infoHash: p.infoHash })
  for (const i of order ?? shuffled(t.pieceCount))
    await t.writePiece(i, await pieceOf(p.archive, p.pieceLength, p.size, i))
  return t
}

export async function sha256Of(stream: AsyncIterable<Buffer>): Promise<string> {
  const h = createHash('sha256')
  for await (const c of stream) h.update(c)
  return h.digest('hex')
}

/** Pieces whose bytes include some of entry `e`'s data. */
export function piecesOf(e: IndexEntry, pieceLength: number): number[] {
  const out = new Set<number>()
  for (const x of e.extents) {
    for (let i = Math.floor(x.archiveOffset / pieceLength); i * pieceLength < x.archiveOffset + x.length; i++)
      out.add(i)
  }
  return [...out]
}

/** Every entry under `root` by byte name (hex-safe key), with all that the install must reproduce. */
export async function walk(root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>()
  const inodes = new Map<number, string[]>()
  const xattrs = await allXattrs(root)
  const visit = async (rel: Buffer) => {
    const abs = rel.length === 0 ? Buffer.from(root) : Buffer.concat([Buffer.from(`${root}/`), rel])
    const st = await lstat(abs)
    const key = rel.toString('latin1')
    const kind = st.isDirectory() ? 'dir' : st.isFile() ? 'file' : st.isSymbolicLink() ? 'symlink' : 'node'
    const parts = [kind, `mode=${st.mode.toString(8)}`, `owner=${st.uid}:${st.gid}`, `mtime=${st.mtimeMs}`]
    if (kind === 'file') {
      parts.push(
        `size=${st.size}`,
        `sha=${createHash('sha256')
          .update(await readFile(abs))
          .digest('hex')}`,
      )
      // Sparse holes must stay holes: allocated blocks within 64 KiB of the reference.
      parts.push(`blocks~${Math.round((st.blocks * 512) / 65536)}`)
      if (st.nlink > 1) inodes.set(st.ino, [...(inodes.get(st.ino) ?? []), key])
    }
    if (kind === 'node') parts.push(`rdev=${st.rdev}`)
    if (kind === 'symlink') parts.push(`target=${(await readlink(abs, { encoding: 'buffer' })).toString('hex')}`)
    parts.push(`xattrs=${xattrs.get(key) ?? ''}`)
    out.set(key, parts.join(' '))
    if (kind === 'dir') {
      const names = (await readdir(abs, { encoding: 'buffer' })).sort(Buffer.compare)
      for (const n of names) await visit(rel.length === 0 ? n : Buffer.concat([rel, Buffer.from('/'), n]))
    }
  }
  await visit(Buffer.alloc(0))
  for (const group of inodes.values())
    for (const k of group) out.set(k, `${out.get(k)} links=${group.sort().join(',')}`)
  return out
}

/** Every entry's xattrs (one getfattr run; it escapes odd name bytes as \\ooo). */
async function allXattrs(root: string): Promise<Map<string, string>> {
  const { stdout } = await run('getfattr', ['-R', '-P', '-h', '-d', '-m', '-', '-e', 'hex', '--absolute-names', root], {
    encoding: 'latin1',
    maxBuffer: 64 << 20,
  })
  const out = new Map<string, string>()
  const prefix = Buffer.from(root).toString('latin1')
  for (const block of stdout.split('\n\n')) {
    const lines = block.split('\n').filter((l) => l !== '')
    const head = lines.shift()
    if (!head?.startsWith('# file: ')) continue
    const path = head.slice(8).replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)))
    const rel = path === prefix ? '' : path.slice(prefix.length + 1)
    out.set(rel, lines.sort().join(';'))
  }
  return out
}

/** Adds to a test tree what buildFullTree lacks: a non-UTF-8 name, empty files and dirs. */
export async function addExtras(tree: string): Promise<void> {
  await mkdir(join(tree, 'empty-dir'), { recursive: true })
  await writeFile(join(tree, 'empty-file'), '')
  await writeFile(Buffer.from(`${tree}/bytes-\xff\xfe-name`, 'latin1'), 'not utf-8 name\n')
  await writeFile(join(tree, 'exactly-16k'), Buffer.alloc(16384, 7))
  const t = new Date('2020-05-05T05:05:05Z')
  for (const p of ['empty-dir', 'empty-file', 'exactly-16k', '.']) await utimes(join(tree, p), t, t)
}
