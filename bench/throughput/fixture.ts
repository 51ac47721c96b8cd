// The benchmark's input: a file of reproducible random bytes (AES-CTR
// keystream, incompressible like a packed image) and its private .torrent,
// made with the packer's own hasher and torrent writer and piece size.
import { createCipheriv, createHash } from 'node:crypto'
import { closeSync, existsSync, openSync, readFileSync, statSync, writeFileSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { choosePieceLength, PieceHasher } from '../../seeder/packer/hasher.ts'
import { buildTorrent } from '../../seeder/packer/torrent.ts'

export const FILE_NAME = 'image.tar'
const CHUNK = 4 << 20

export interface Fixture {
  dir: string
  file: string
  torrentFile: string
  torrent: Buffer
  size: number
  pieceLength: number
}

/** Writes DIR/image.tar and DIR/image.torrent (reused when the size and piece length match). */
export function makeFixture(dir: string, size: number, announce: string, pieceLength?: number): Fixture {
  const file = join(dir, FILE_NAME)
  const torrentFile = join(dir, 'image.torrent')
  const pl = pieceLength ?? choosePieceLength(size)
  const hasher = new PieceHasher(pl)
  const reuse = existsSync(file) && statSync(file).size === size
  const h = createHash('sha256').update(`imgswarm-throughput:${size}`).digest()
  const cipher = createCipheriv('aes-128-ctr', h.subarray(0, 16), h.subarray(16, 32))
  const zeros = Buffer.alloc(CHUNK)
  const fd = reuse ? -1 : openSync(file, 'w')
  try {
    for (let pos = 0; pos < size; pos += CHUNK) {
      const chunk = cipher.update(zeros.subarray(0, Math.min(CHUNK, size - pos)))
      hasher.update(chunk)
      if (fd >= 0) writeSync(fd, chunk)
    }
  } finally {
    if (fd >= 0) closeSync(fd)
  }
  const { pieces } = hasher.finish()
  const t = buildTorrent({
    name: FILE_NAME,
    length: size,
    pieceLength: pl,
    pieces,
    announce: [announce],
    webseeds: [],
    createdBy: 'imgswarm bench',
  })
  writeFileSync(torrentFile, t.file)
  return { dir, file, torrentFile, torrent: readFileSync(torrentFile), size, pieceLength: pl }
}
