// BEP 15 connection ids that prove the source address: an id is an HMAC of the
// source ip:port and a time window under a per-process secret, so a client must
// have received our CONNECT reply at that address to announce from it. The
// library instead accepts the fixed protocol id as a connection id, which lets
// anyone skip the handshake and announce for a spoofed source.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { CONNECTION_ID_WINDOW_MS } from './constants.ts'

export interface ConnectionIds {
  mint(address: string, port: number, now?: number): Buffer
  verify(id: Buffer, address: string, port: number, now?: number): boolean
}

export function connectionIds(secret: Buffer = randomBytes(32), windowMs = CONNECTION_ID_WINDOW_MS): ConnectionIds {
  const idFor = (address: string, port: number, window: number): Buffer =>
    createHmac('sha256', secret).update(`${window}|${address}|${port}`).digest().subarray(0, 8)
  return {
    mint: (address, port, now = Date.now()) => idFor(address, port, Math.floor(now / windowMs)),
    verify(id, address, port, now = Date.now()) {
      if (id.length !== 8) return false
      const w = Math.floor(now / windowMs)
      // Current or previous window: an id minted just before a boundary stays good for a full window.
      return timingSafeEqual(id, idFor(address, port, w)) || timingSafeEqual(id, idFor(address, port, w - 1))
    },
  }
}
