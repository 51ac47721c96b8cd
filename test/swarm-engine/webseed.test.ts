// The web seed request that replaces webtorrent's (client/swarm/engine/webseed.ts),
// against a real HTTP server: exactly the requested range into one buffer, and
// a clear error for every server that does not answer a Range request with
// exactly that range (a server that ignores Range would otherwise be read whole).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { patchWebConn, type WebConnProto } from '../../client/swarm/engine/webseed.ts'

const FILE = Buffer.alloc(1 << 20)
for (let i = 0; i < FILE.length; i++) FILE[i] = (i * 7 + (i >> 9)) & 0xff
const PIECE = 64 * 1024

type Mode = 'good' | 'ignore-range' | 'too-long' | 'too-short' | 'wrong-length'
let mode: Mode = 'good'
let server: Server
let url = ''

function handle(req: IncomingMessage, res: ServerResponse): void {
  const m = /^bytes=(\d+)-(\d+)$/.exec(String(req.headers.range))
  if (!m || mode === 'ignore-range') {
    res.writeHead(200, { 'content-length': FILE.length })
    res.end(FILE)
    return
  }
  const [start, end] = [Number(m[1]), Number(m[2])]
  const body = FILE.subarray(start, end + 1)
  if (mode === 'good') {
    res.writeHead(206, { 'content-length': body.length })
    res.end(body)
  } else if (mode === 'wrong-length') {
    res.writeHead(206, { 'content-length': body.length + 10 })
    res.end(Buffer.concat([body, Buffer.alloc(10)]))
  } else {
    // Chunked, no length declared: only the bytes tell.
    res.writeHead(206, { 'transfer-encoding': 'chunked' })
    res.end(mode === 'too-long' ? Buffer.concat([body, Buffer.alloc(1)]) : body.subarray(0, body.length - 1))
  }
}

beforeAll(async () => {
  server = createServer(handle)
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/archive.tar`
})
afterAll(() => {
  server.closeAllConnections()
  return new Promise<void>((r) => server.close(() => r()))
})

function patched(files = 1) {
  const stockCalls: number[] = []
  const proto: WebConnProto = {
    async httpRequest(pieceIndex, _offset, _length, cb) {
      stockCalls.push(pieceIndex)
      cb(null, Buffer.from('stock'))
    },
  }
  patchWebConn(proto)
  const conn = { url, _torrent: { files: new Array(files).fill({}), pieceLength: PIECE } }
  const request = (piece: number, offset: number, length: number) =>
    new Promise<{ err: Error | null; data?: Uint8Array }>((resolve) => {
      void proto.httpRequest.call(conn, piece, offset, length, (err, data) => resolve({ err, data }))
    })
  return { request, stockCalls }
}

describe('web seed request', () => {
  it('reads exactly the requested range of a piece', async () => {
    mode = 'good'
    const { request } = patched()
    const r = await request(3, 4096, PIECE - 4096)
    expect(r.err).toBeNull()
    expect(Buffer.from(r.data as Uint8Array).equals(FILE.subarray(3 * PIECE + 4096, 4 * PIECE))).toBe(true)
  })

  it.each([
    ['ignore-range', /HTTP 200 \(expected 206/],
    ['too-long', /sent more than the 65536 bytes/],
    ['too-short', /ended after 65535 of 65536 bytes/],
    ['wrong-length', /declared 65546 bytes for a range of 65536/],
  ] as const)('fails the request when the server answers %s', async (m, message) => {
    mode = m
    const { request } = patched()
    const r = await request(5, 0, PIECE)
    expect(r.data).toBeUndefined()
    expect(r.err?.message).toMatch(message)
    expect(r.err?.message).toContain(`bytes ${5 * PIECE}-${6 * PIECE - 1}`)
  })

  it('fails when the web seed is unreachable', async () => {
    const dead = createServer()
    await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r))
    const port = (dead.address() as AddressInfo).port
    await new Promise<void>((r) => dead.close(() => r()))
    const proto: WebConnProto = { httpRequest: async () => undefined }
    patchWebConn(proto)
    const conn = { url: `http://127.0.0.1:${port}/x`, _torrent: { files: [{}], pieceLength: PIECE } }
    const err = await new Promise<Error | null>((resolve) => {
      void proto.httpRequest.call(conn, 0, 0, PIECE, (e) => resolve(e))
    })
    expect(err).toBeInstanceOf(Error)
  })

  it('leaves multi-file torrents to the stock request', async () => {
    mode = 'good'
    const { request, stockCalls } = patched(2)
    const r = await request(7, 0, PIECE)
    expect(stockCalls).toEqual([7])
    expect(Buffer.from(r.data as Uint8Array).toString()).toBe('stock')
  })
})
