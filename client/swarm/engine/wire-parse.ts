// bittorrent-protocol's Wire input buffering, without the quadratic copy.
// Stock `_write` concatenates every incoming socket chunk with whatever is
// still buffered into a new zero-filled array, so each received byte is
// copied once or more before the parser sees it. Here chunks are queued and
// a message is copied only when it spans chunks. Installed by tuning.ts.
// While the optional encryption handshake runs (never with the engine's
// settings), the stock code handles the bytes.

type WireInput = {
  _encryptor: { decrypt(d: Uint8Array): Uint8Array } | null
  _buffer: Uint8Array[]
  _bufferSize: number
  _parserSize: number
  _parser: (buf: Uint8Array) => void
  _cryptoSyncPattern: unknown
  _pePending: unknown
}

function joinAll(w: WireInput): void {
  if (w._buffer.length > 1) w._buffer = [Buffer.concat(w._buffer, w._bufferSize)]
}

/** BitTorrent message id of PIECE (BEP 3). */
const MSG_PIECE = 7
/**
 * One reusable buffer for PIECE messages that span socket chunks: the block
 * is copied into its piece synchronously by webtorrent's request callback
 * (torrent.js onChunk -> Piece.set) and nobody keeps the message, so a fresh
 * 64 KiB allocation per block would only feed the garbage collector.
 */
const scratch = Buffer.allocUnsafe(256 * 1024)

/** Takes `size` bytes off the front of the queue. */
function take(w: WireInput, size: number, isMessage: boolean): Uint8Array {
  const first = w._buffer[0] as Uint8Array
  if (first.length >= size) {
    if (first.length === size) w._buffer.shift()
    else w._buffer[0] = first.subarray(size)
    return first.subarray(0, size)
  }
  const reuse = first[0] === MSG_PIECE && size <= scratch.length && isMessage
  const out = reuse ? scratch.subarray(0, size) : Buffer.allocUnsafe(size)
  let filled = 0
  while (filled < size) {
    const c = w._buffer[0] as Uint8Array
    const n = Math.min(c.length, size - filled)
    out.set(n === c.length ? c : c.subarray(0, n), filled)
    filled += n
    if (n === c.length) w._buffer.shift()
    else w._buffer[0] = c.subarray(n)
  }
  return out
}

export function patchWireInput(proto: Record<string, unknown>): void {
  const stockProcess = proto._processBuffer as (this: WireInput) => void
  const onMessage = proto._onMessage
  proto._write = function (this: WireInput, data: Uint8Array, cb: (err: null) => void) {
    this._bufferSize += data.length
    this._buffer.push(this._encryptor ? this._encryptor.decrypt(data) : data)
    ;(this as unknown as { _processBuffer(): void })._processBuffer()
    cb(null)
  }
  proto._processBuffer = function (this: WireInput) {
    for (;;) {
      if (this._cryptoSyncPattern || this._pePending) {
        joinAll(this)
        return stockProcess.call(this)
      }
      if (this._bufferSize < this._parserSize) return
      if (this._parserSize === 0) {
        this._parser(new Uint8Array())
        continue
      }
      const size = this._parserSize
      const msg = take(this, size, this._parser === onMessage)
      this._bufferSize -= size
      this._parser(msg)
    }
  }
}
