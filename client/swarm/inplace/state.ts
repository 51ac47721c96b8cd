// The resume state: which pieces have been written into the target, for
// which torrent and index. One small file, TARGET/.imgswarm-install/pieces:
//   "imgswarm-pieces 1\n" JSON-header "\n" bitfield
// The bitfield is BitTorrent's (BEP 3): piece 0 is the high bit of byte 0,
// so it can be handed to webtorrent as a startup bitfield as it is.
import { createHash } from 'node:crypto'
import { open, readFile, rename } from 'node:fs/promises'
import { join } from 'node:path'
import { asTable, type IndexTable } from '../../../common/tarindex/table.ts'
import type { ArchiveIndex } from '../../../common/tarindex/types.ts'

export const WORK_DIR = '.imgswarm-install'
export const PIECES_FILE = 'pieces'
export const SIDE_FILE = 'side'
const MAGIC = 'imgswarm-pieces 1\n'

export interface StateHeader {
  infoHash: string
  indexHash: string
  pieceCount: number
  pieceLength: number
  /** The target's lost+found existed before the install (it is not ours to re-mode). */
  lostFound: boolean
}

export function bitfieldBytes(pieceCount: number): number {
  return Math.ceil(pieceCount / 8)
}

export function getBit(bits: Uint8Array, i: number): boolean {
  return ((bits[i >> 3] ?? 0) & (0x80 >> (i & 7))) !== 0
}

export function setBit(bits: Uint8Array, i: number): void {
  bits[i >> 3] = (bits[i >> 3] ?? 0) | (0x80 >> (i & 7))
}

export function countBits(bits: Uint8Array, pieceCount: number): number {
  let n = 0
  for (let i = 0; i < pieceCount; i++) if (getBit(bits, i)) n++
  return n
}

/** Writes the state atomically (temporary file, fsync, rename). */
export async function writeState(workDir: string, h: StateHeader, bits: Uint8Array): Promise<void> {
  const tmp = join(workDir, `${PIECES_FILE}.tmp`)
  const fh = await open(tmp, 'w', 0o600)
  try {
    await fh.writeFile(Buffer.concat([Buffer.from(MAGIC), Buffer.from(`${JSON.stringify(h)}\n`), bits]))
    await fh.sync()
  } finally {
    await fh.close()
  }
  await rename(tmp, join(workDir, PIECES_FILE))
}

/** The stored state, or undefined when there is none or it cannot be read. */
export async function readState(workDir: string): Promise<{ header: StateHeader; bits: Uint8Array } | undefined> {
  const raw = await readFile(join(workDir, PIECES_FILE)).catch(() => undefined)
  if (!raw?.subarray(0, MAGIC.length).equals(Buffer.from(MAGIC))) return undefined
  const nl = raw.indexOf(0x0a, MAGIC.length)
  if (nl < 0) return undefined
  let header: StateHeader
  try {
    header = JSON.parse(raw.subarray(MAGIC.length, nl).toString('utf8')) as StateHeader
  } catch {
    return undefined
  }
  const { infoHash, indexHash, pieceCount, pieceLength, lostFound } = header
  const ok =
    typeof infoHash === 'string' &&
    typeof indexHash === 'string' &&
    Number.isSafeInteger(pieceCount) &&
    Number.isSafeInteger(pieceLength) &&
    typeof lostFound === 'boolean'
  const bits = new Uint8Array(raw.subarray(nl + 1))
  if (!ok || bits.length !== bitfieldBytes(pieceCount)) return undefined
  return { header, bits }
}

export interface StateMatch {
  infoHash: string
  indexHash: string
  pieceCount: number
}

/**
 * The written-pieces bitfield of an unfinished install in `targetDir`, or
 * null when there is none or it belongs to another torrent or index.
 */
export async function loadWrittenPieces(targetDir: string, expect: StateMatch): Promise<Uint8Array | null> {
  const s = await readState(join(targetDir, WORK_DIR))
  if (!s) return null
  const h = s.header
  if (h.infoHash !== expect.infoHash.toLowerCase() || h.indexHash !== expect.indexHash) return null
  if (h.pieceCount !== expect.pieceCount) return null
  return s.bits
}

/** A digest of everything in the index (its canonical form), to tie the state to it. */
export function indexDigest(index: ArchiveIndex | IndexTable): string {
  const t = asTable(index)
  const h = createHash('sha256')
  const num = (n: number) => h.update(`${n};`)
  const bytes = (b: Buffer) => {
    num(b.length)
    h.update(b)
  }
  h.update('imgswarm/index@1;')
  num(t.archiveSize)
  for (let i = 0; i < t.length; i++) {
    const e = t.entry(i)
    h.update(`${e.type};`)
    bytes(e.path)
    bytes(e.linkpath)
    for (const n of [e.headerOffset, e.mode, e.uid, e.gid, e.mtime, e.size, e.devmajor, e.devminor]) num(n)
    const xs = [...e.xattrs].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    num(xs.length)
    for (const [k, v] of xs) {
      bytes(Buffer.from(k))
      bytes(v)
    }
    num(e.extents.length)
    for (const x of e.extents) for (const n of [x.archiveOffset, x.length, x.fileOffset]) num(n)
  }
  return h.digest('hex')
}
