// Hashes the archive bytes as they are written: SHA-1 per torrent piece
// (BEP 3) and SHA-256 of the whole archive (for the manifest), in one pass.
import { createHash, type Hash } from 'node:crypto'

export class PieceHasher {
  readonly pieceLength: number
  readonly #sha256 = createHash('sha256')
  #piece: Hash = createHash('sha1')
  #inPiece = 0
  #pieces: Buffer[] = []
  #total = 0

  constructor(pieceLength: number) {
    this.pieceLength = pieceLength
  }

  update(chunk: Buffer): void {
    this.#sha256.update(chunk)
    this.#total += chunk.length
    let pos = 0
    while (pos < chunk.length) {
      const take = Math.min(this.pieceLength - this.#inPiece, chunk.length - pos)
      this.#piece.update(pos === 0 && take === chunk.length ? chunk : chunk.subarray(pos, pos + take))
      this.#inPiece += take
      pos += take
      if (this.#inPiece === this.pieceLength) {
        this.#pieces.push(this.#piece.digest())
        this.#piece = createHash('sha1')
        this.#inPiece = 0
      }
    }
  }

  /** Call once, after the last byte. */
  finish(): { size: number; sha256: string; pieces: Buffer } {
    if (this.#inPiece > 0) this.#pieces.push(this.#piece.digest())
    return { size: this.#total, sha256: this.#sha256.digest('hex'), pieces: Buffer.concat(this.#pieces) }
  }
}

const MiB = 1 << 20

/** Piece size from the expected archive size: 1 MiB up to 1 GiB, 2 MiB up to 4 GiB, then 4 MiB. */
export function choosePieceLength(estimatedBytes: number): number {
  if (estimatedBytes <= 1024 * MiB) return MiB
  if (estimatedBytes <= 4096 * MiB) return 2 * MiB
  return 4 * MiB
}
