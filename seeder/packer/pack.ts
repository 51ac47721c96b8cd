// `image pack`: tree -> tar[.zst] + .torrent + signed manifest, in one read
// of the tree. The archive bytes are hashed (SHA-1 pieces, SHA-256 whole) on
// their way to disk. Files appear in packed/ only when complete: the
// signature is renamed into place last.

import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs'
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createZstdCompress, constants as zc } from 'node:zlib'
import { errors } from '../../common/errors.ts'
import { MANIFEST_SCHEMA, type Manifest, signManifest } from '../../common/manifest.ts'
import { formatRef } from '../../common/names.ts'
import { loadOrCreateSigningKey } from '../store/keys.ts'
import type { Kind, PackedInfo, Store } from '../store/store.ts'
import { choosePieceLength, PieceHasher } from './hasher.ts'
import { writeIndexFile } from './index-file.ts'
import { emptyStats, type TarStats, tarStream } from './tarstream.ts'
import { buildTorrent } from './torrent.ts'
import { treeTotals } from './walk.ts'
import { readTreeXattrs, type XattrMap } from './xattrs.ts'

export const PACKER_ID = 'imgswarm/0.1.0'

export interface PackOptions {
  compression: 'none' | 'zstd'
  zstdLevel?: number
  pieceLength?: number | undefined
  announce: string[]
  webseeds: string[]
  /** Pack extended attributes (needs getfattr). Default true. */
  xattrs?: boolean
  signal?: AbortSignal
  onWarning?: (msg: string) => void
  /** Called with (bytes of tree content read, total bytes expected). */
  onProgress?: (done: number, total: number) => void
}

export interface PackResult {
  info: PackedInfo
  stats: TarStats
  alreadyPacked: boolean
}

export interface RawPackResult {
  size: number
  sha256: string
  pieces: Buffer
  pieceLength: number
  stats: TarStats
}

/** Streams a tree into an archive file, hashing as it writes. */
export async function packTreeToFile(root: string, outFile: string, o: PackOptions): Promise<RawPackResult> {
  const totals = treeTotals(root)
  const xattrs: XattrMap = o.xattrs === false ? new Map() : await readTreeXattrs(root)
  const estimate = totals.bytes + totals.entries * 1024
  const pieceLength = o.pieceLength ?? choosePieceLength(estimate)
  if (pieceLength < 16384 || (pieceLength & (pieceLength - 1)) !== 0) {
    throw errors.usage(`piece size ${pieceLength} must be a power of two of at least 16 KiB`)
  }
  const hasher = new PieceHasher(pieceLength)
  const stats = emptyStats()
  const fd = openSync(outFile, 'wx', 0o644)
  const sink = (chunk: Buffer) => {
    hasher.update(chunk)
    let off = 0
    while (off < chunk.length) off += writeSync(fd, chunk, off)
  }
  const tarOpts = {
    root,
    xattrs,
    stats,
    ...(o.onWarning ? { onWarning: o.onWarning } : {}),
    onProgress: (b: number) => o.onProgress?.(b, totals.bytes),
    ...(o.signal ? { signal: o.signal } : {}),
  }
  try {
    if (o.compression === 'zstd') {
      await compressZstd(tarStream({ ...tarOpts, reuseBuffers: true }), sink, o.zstdLevel ?? 3, o.signal)
    } else {
      // Synchronous read -> hash -> write with two reused 1 MiB buffers:
      // the fastest path, and memory does not depend on the tree.
      for (const chunk of tarStream({ ...tarOpts, reuseBuffers: true })) sink(chunk)
    }
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
  o.onProgress?.(totals.bytes, totals.bytes)
  const h = hasher.finish()
  return { size: h.size, sha256: h.sha256, pieces: h.pieces, pieceLength, stats }
}

/** zstd in Node's thread pool, at most a few chunks queued. Deterministic: one worker, fixed level. */
async function compressZstd(chunks: Iterable<Buffer>, sink: (c: Buffer) => void, level: number, signal?: AbortSignal) {
  const z = createZstdCompress({
    // Large output chunks: the default 16 KiB means one thread-pool round
    // trip per 16 KiB, which halves throughput.
    chunkSize: 1 << 20,
    params: { [zc.ZSTD_c_compressionLevel]: level, [zc.ZSTD_c_checksumFlag]: 1 },
  })
  const finished = new Promise<void>((resolve, reject) => {
    z.on('data', (c: Buffer) => {
      try {
        sink(c)
      } catch (e) {
        z.destroy(e as Error)
      }
    })
    z.on('end', resolve)
    z.on('error', reject)
  })
  finished.catch(() => undefined)
  for (const chunk of chunks) {
    signal?.throwIfAborted()
    // The write callback fires once zstd has consumed the chunk: only then
    // may the generator reuse its buffer (memory stays flat). 'drain' would
    // not do: it fires only after write() returned false.
    await Promise.race([new Promise<void>((res, rej) => z.write(chunk, (e) => (e ? rej(e) : res()))), finished])
  }
  z.end()
  await finished
}

function webseedUrls(bases: string[], kind: Kind, fileName: string): string[] {
  // A base ending in '/' becomes the archive's full URL: webtorrent uses a
  // single-file web seed URL as is (it ignores BEP 19's append-the-name rule).
  return bases.map((b) =>
    b.endsWith('/')
      ? `${b}${kind === 'image' ? 'images' : kind === 'content' ? 'content' : 'overrides'}/${fileName}`
      : b,
  )
}

/** Packs one stored version. Packing a packed version is a no-op (versions are immutable). */
export async function packVersion(store: Store, kind: Kind, ref: string, o: PackOptions): Promise<PackResult> {
  const { name, version } = await store.resolve(kind, ref)
  const existing = await store.packed(kind, name, version)
  if (existing) return { info: existing, stats: emptyStats(), alreadyPacked: true }
  const key = await loadOrCreateSigningKey(store.keysDir)
  const fileName = `${formatRef(name, version)}.tar${o.compression === 'zstd' ? '.zst' : ''}`
  const tmp = await store.scratch('pack')
  try {
    const archiveTmp = join(tmp, fileName)
    const raw = await packTreeToFile(store.treeDir(kind, name, version), archiveTmp, o)
    const torrent = buildTorrent({
      name: fileName,
      length: raw.size,
      pieceLength: raw.pieceLength,
      pieces: raw.pieces,
      announce: o.announce,
      webseeds: webseedUrls(o.webseeds, kind, fileName),
      createdBy: PACKER_ID,
    })
    // The index is read back from the written archive, so it describes the
    // bytes nodes will get; zstd archives have none (offsets would mean nothing).
    const indexFile = `${formatRef(name, version)}.index.json`
    const index =
      o.compression === 'none' ? await writeIndexFile(archiveTmp, raw.size, join(tmp, indexFile), o.signal) : undefined
    const manifest: Manifest = {
      schema: MANIFEST_SCHEMA,
      kind,
      name,
      version,
      archive: { file: fileName, size: raw.size, sha256: raw.sha256, compression: o.compression },
      ...(index === undefined ? {} : { index: { file: indexFile, size: index.size, sha256: index.sha256 } }),
      torrent: { infoHash: torrent.infoHash, pieceLength: raw.pieceLength, pieces: raw.pieces.length / 20 },
      tree: { entries: raw.stats.entries, files: raw.stats.files, bytes: raw.stats.bytes },
      createdAt: new Date().toISOString(),
      packer: PACKER_ID,
    }
    const manifestBytes = Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`)
    const sig = signManifest(manifestBytes, key.privateKey)
    const base = store.packedBase(kind, name, version)
    await writeFile(join(tmp, 'torrent'), torrent.file)
    await writeFile(join(tmp, 'manifest'), manifestBytes)
    await writeFile(join(tmp, 'sig'), `${JSON.stringify(sig)}\n`)
    await mkdir(store.packedDir(kind), { recursive: true })
    await rename(archiveTmp, join(store.packedDir(kind), fileName))
    await rename(join(tmp, 'torrent'), `${base}.torrent`)
    if (index !== undefined) await rename(join(tmp, indexFile), `${base}.index.json`)
    await rename(join(tmp, 'manifest'), `${base}.manifest.json`)
    await rename(join(tmp, 'sig'), `${base}.manifest.sig`)
    const info = await store.packed(kind, name, version)
    if (!info) throw new Error('packed files vanished after writing them')
    return { info, stats: raw.stats, alreadyPacked: false }
  } finally {
    await rm(tmp, { recursive: true, force: true })
  }
}

export async function readPackedManifestBytes(info: PackedInfo): Promise<{ bytes: Buffer; sig: Buffer }> {
  return { bytes: await readFile(info.manifestFile), sig: await readFile(info.signatureFile) }
}
