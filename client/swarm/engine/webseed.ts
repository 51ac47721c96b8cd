// webtorrent's web seed request (lib/webconn.js `httpRequest`), replaced for
// single-file torrents (all of ours). The stock one asks for a whole piece
// with an HTTP Range request, then `res.arrayBuffer()` (undici keeps every
// body chunk, then copies them into one buffer) and `concat()` of that one
// buffer (a third copy): about three piece-sized buffers per request, with
// up to maxWebConns requests in flight, and it takes whatever length the
// server sends, so a web seed that ignores Range would be buffered whole,
// a 4 GB archive included. This one reads the body into a single buffer of
// exactly the requested length and fails the request (webtorrent then
// cancels the reservation and retries later, as for any web seed error) on
// any other status than 206, on a declared or actual length that differs,
// and on a timeout. docs/bench-install.md ("Peak RSS") has the figures.
// Multi-file torrents keep the stock code.

/** webconn.js SOCKET_TIMEOUT: one request's deadline. */
const SOCKET_TIMEOUT_MS = 60_000

type Cb = (err: Error | null, data?: Uint8Array) => void

interface WebConnInternals {
  url: string
  _torrent: { files: unknown[]; pieceLength: number }
}

export type WebConnProto = {
  httpRequest(this: WebConnInternals, pieceIndex: number, offset: number, length: number, cb: Cb): Promise<void>
}

/** Reads `res`'s body into one buffer of exactly `length` bytes, or throws. */
export async function readExactly(res: Response, length: number, what: string): Promise<Buffer> {
  const declared = res.headers.get('content-length')
  if (declared !== null && Number(declared) !== length) {
    await res.body?.cancel().catch(() => undefined)
    throw new Error(`${what}: the server declared ${declared} bytes for a range of ${length}`)
  }
  const out = Buffer.allocUnsafe(length)
  let got = 0
  if (res.body) {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      if (got + chunk.length > length) {
        throw new Error(`${what}: the server sent more than the ${length} bytes asked for`)
      }
      out.set(chunk, got)
      got += chunk.length
    }
  }
  if (got !== length) throw new Error(`${what}: the body ended after ${got} of ${length} bytes`)
  return out
}

export function patchWebConn(proto: WebConnProto): void {
  const stock = proto.httpRequest
  proto.httpRequest = async function (this: WebConnInternals, pieceIndex, offset, length, cb) {
    if (this._torrent.files.length > 1) return stock.call(this, pieceIndex, offset, length, cb)
    let called = false
    const done: Cb = (err, data) => {
      if (called) return
      called = true
      cb(err, data)
    }
    const start = pieceIndex * this._torrent.pieceLength + offset
    const what = `web seed ${this.url} bytes ${start}-${start + length - 1}`
    try {
      const res = await fetch(this.url, {
        cache: 'no-store',
        headers: { 'cache-control': 'no-store', range: `bytes=${start}-${start + length - 1}` },
        signal: AbortSignal.timeout(SOCKET_TIMEOUT_MS),
      })
      if (res.status !== 206) {
        await res.body?.cancel().catch(() => undefined)
        throw new Error(`${what}: HTTP ${res.status} (expected 206 Partial Content)`)
      }
      done(null, await readExactly(res, length, what))
    } catch (e) {
      done(e instanceof Error ? e : new Error(String(e)))
    }
  }
}
