// torrent-piece's Piece (one piece being downloaded) with BLOCK_LENGTH-sized
// blocks written straight into one buffer per piece. The stock class splits
// a piece into 16 KiB blocks (a module constant), keeps an array of them and
// concatenates them into a fresh zero-filled buffer when the piece is
// complete: one extra allocation and copy per piece. Installed by tuning.ts
// over the prototype, because webtorrent's torrent.js constructs Piece itself.

type PieceState = {
  length: number
  missing: number
  sources: unknown[] | null
  _chunks: number
  _remainder: number
  _buffered: number
  _buffer: unknown[] | null
  _cancellations: number[] | null
  _reservations: number
  _flushed: boolean
  /** Ours: the piece's bytes, allocated on first use (bounded by the pieces in flight). */
  _bytes?: Buffer
  /** Ours: which blocks arrived. */
  _have?: Uint8Array
  /** Ours: the wire each block was copied from (ban.ts reads it when the piece fails its hash). */
  _from?: unknown[]
  /** Ours: the bytes handed out by flush(), kept for ban.ts while the Piece object lives. */
  _flushedBytes?: Buffer
}

/** A flushed piece's bytes and, per block, the wire it came from; undefined before flush(). */
export function flushedAttempt(
  piece: unknown,
  blockLength: number,
): { bytes: Buffer; from: readonly unknown[]; blockLength: number } | undefined {
  const p = piece as PieceState | null | undefined
  if (!p?._flushedBytes || !p._from) return undefined
  return { bytes: p._flushedBytes, from: p._from, blockLength }
}

export function patchPiece(proto: Record<string, unknown>, blockLength: number): void {
  const methods = {
    chunkLength(this: PieceState, i: number): number {
      return i === this._chunks - 1 ? this._remainder : blockLength
    },
    chunkLengthRemaining(this: PieceState, i: number): number {
      return this.length - i * blockLength
    },
    chunkOffset(this: PieceState, i: number): number {
      return i * blockLength
    },
    init(this: PieceState): boolean {
      if (this._flushed) return false
      if (this._bytes) return true
      this._chunks = Math.ceil(this.length / blockLength)
      this._remainder = this.length % blockLength || blockLength
      this._bytes = Buffer.allocUnsafe(this.length)
      this._have = new Uint8Array(this._chunks)
      this._from = new Array(this._chunks)
      this._buffer = []
      this._cancellations = []
      this.sources = []
      return true
    },
    get(this: PieceState, i: number): Uint8Array | null {
      if (!methods.init.call(this) || !this._have?.[i]) return null
      const off = i * blockLength
      return (this._bytes as Buffer).subarray(off, off + methods.chunkLength.call(this, i))
    },
    set(this: PieceState, i: number, data: Uint8Array, source: unknown): boolean {
      if (!methods.init.call(this)) return false
      const have = this._have as Uint8Array
      const from = this._from as unknown[]
      const bytes = this._bytes as Buffer
      const blocks = Math.ceil(data.length / blockLength)
      for (let j = 0; j < blocks; j++) {
        if (have[i + j] || i + j >= this._chunks) continue
        const part = data.subarray(j * blockLength, (j + 1) * blockLength)
        bytes.set(part, (i + j) * blockLength)
        have[i + j] = 1
        from[i + j] = source
        this._buffered++
        this.missing -= part.length
        if (!this.sources?.includes(source)) this.sources?.push(source)
      }
      return this._buffered === this._chunks
    },
    flush(this: PieceState): Buffer | null {
      if (!this._bytes || this._chunks !== this._buffered) return null
      const out = this._bytes
      this._flushedBytes = out
      this._bytes = undefined
      this._have = undefined
      this._buffer = null
      this._cancellations = null
      this.sources = null
      this._flushed = true
      return out
    },
  }
  Object.assign(proto, methods)
}
