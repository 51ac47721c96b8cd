// Runtime patches of webtorrent 3 internals, for throughput and bounded
// memory. They live here, in one file, because node_modules is reinstalled
// from npm: each patch names the webtorrent code it replaces and why.
// Applied once per process, before the first client is built; they change
// the Torrent prototype, so every webtorrent client in the process (a test's
// stock seeder too) gets them.
import Wire from 'bittorrent-protocol'
import Piece from 'torrent-piece'
import Peer from 'webtorrent/lib/peer.js'
import RarityMap from 'webtorrent/lib/rarity-map.js'
import Torrent from 'webtorrent/lib/torrent.js'
import WebConn from 'webtorrent/lib/webconn.js'
import { patchRarityMap } from './in-order.ts'
import { fillFromStarted, type PartialHost, trackStarted } from './partial-first.ts'
import { patchPiece } from './piece.ts'
import { type BacklogHost, MAX_STORE_BACKLOG } from './store-view.ts'
import { patchWebConn, type WebConnProto } from './webseed.ts'
import { patchWireInput } from './wire-parse.ts'
import type { WtTorrent, WtWire } from './wt-types.ts'

/**
 * Block (request) size. BitTorrent clients use 16 KiB; webtorrent serves up
 * to 128 KiB (torrent.js MAX_BLOCK_LENGTH). 64 KiB blocks cut the per-block
 * work (messages, callbacks, events, buffers) by four on both ends; every
 * peer in an imgswarm swarm is webtorrent. Requests to other clients are split
 * back into 16 KiB requests (see splitRequests).
 */
export const BLOCK_LENGTH = 64 * 1024
const STANDARD_BLOCK = 16 * 1024

/**
 * Requests in flight over all peers, in blocks of BLOCK_LENGTH. webtorrent
 * asks each peer for "one second of data at its current rate" with no cap (a
 * peer may send `reqq`, webtorrent itself never does), so at 300 MB/s it
 * would keep 300 MB of requests and partial pieces in RAM. 256 blocks
 * (16 MiB) keep a loopback link full; each peer gets its share, within
 * MIN/MAX_BLOCKS_PER_PEER.
 */
export const MAX_BLOCKS_IN_FLIGHT = 256
const MIN_BLOCKS_PER_PEER = 4
const MAX_BLOCKS_PER_PEER = 128

type TorrentProto = {
  _update(this: TorrentInternals): void
  _updateWire(this: TorrentInternals, wire: WtWire): unknown
  _updateWireWrapper(this: TorrentInternals): void
  _onWire(this: TorrentInternals, wire: WtWire, addr?: string): unknown
}
type TorrentInternals = WtTorrent & BacklogHost & { _updateScheduled?: boolean }
type Duplexish = {
  write(c: Uint8Array): boolean
  on(ev: 'data', cb: (c: Uint8Array) => void): void
  once(ev: string, cb: () => void): void
  pause(): void
  resume(): void
}
type PeerInternals = {
  conn: Duplexish & { cork(): void; uncork(): void; destroyed: boolean }
  wire: Duplexish
  destroyed: boolean
  throttleGroups: { down: { getEnabled(): boolean }; up: { getEnabled(): boolean } }
  emit(ev: string, n: number): void
}
type WireInternals = WtWire & { peerExtendedHandshake?: { reqq?: unknown }; downloadSpeed(): number }

let applied = false

export function applyTuning(): void {
  if (applied) return
  applied = true
  const proto = (Torrent as unknown as { prototype: TorrentProto }).prototype

  // Bigger blocks, one buffer per piece (piece.ts). torrent.js reads
  // Piece.BLOCK_LENGTH for its pipeline arithmetic and hot-swapping.
  const P = Piece as unknown as { BLOCK_LENGTH: number; prototype: Record<string, unknown> }
  P.BLOCK_LENGTH = BLOCK_LENGTH
  patchPiece(P.prototype, BLOCK_LENGTH)

  // bittorrent-protocol `_write`/`_processBuffer`: see wire-parse.ts.
  patchWireInput((Wire as unknown as { prototype: Record<string, unknown> }).prototype)

  // webconn.js `httpRequest`: one exact-length buffer per web seed request (webseed.ts).
  patchWebConn((WebConn as unknown as { prototype: WebConnProto }).prototype)

  // torrent.js `_onWire`: a peer that is not webtorrent (aria2, libtorrent,
  // Transmission...) may refuse requests above 16 KiB: split ours for it.
  const onWire = proto._onWire
  proto._onWire = function (this: TorrentInternals, wire: WtWire, addr?: string) {
    if (wire.type !== 'webSeed' && !String(wire.peerId).startsWith(WEBTORRENT_PEER_ID_HEX)) splitRequests(wire)
    return onWire.call(this, wire, addr)
  }

  // torrent.js `_update`: runs the whole request scheduler (every wire, piece
  // selection) after every single received block, synchronously. Coalesce
  // to once per event-loop turn: all blocks read from the sockets in one
  // turn are accounted first, then requests are refilled once.
  const updateNow = proto._updateWireWrapper
  proto._update = function (this: TorrentInternals) {
    if (this._updateScheduled) return
    this._updateScheduled = true
    setImmediate(() => {
      this._updateScheduled = false
      if (!this.destroyed) updateNow.call(this)
    })
  }

  // torrent.js `_updateWire` with rarest-first keeps starting new pieces: see partial-first.ts.
  trackStarted(proto as unknown as Record<string, unknown>)

  // rarity-map.js `getRarestPiece`: ties in piece order while only seeds are connected (in-order.ts).
  patchRarityMap((RarityMap as unknown as { prototype: Record<string, unknown> }).prototype)

  // torrent.js `getBlockPipelineLength` honours the peer's `reqq`: set it to
  // our share of MAX_BLOCKS_IN_FLIGHT before each refill.
  const updateWire = proto._updateWire
  proto._updateWire = function (this: TorrentInternals, wire: WtWire) {
    // The store is behind (slow disk): request nothing until it catches up (store-view.ts).
    if ((this._storeBacklog?.() ?? 0) >= (this._storeBacklogMax ?? MAX_STORE_BACKLOG)) return
    const w = wire as WireInternals
    if (w.type !== 'webSeed') {
      const share = Math.floor(MAX_BLOCKS_IN_FLIGHT / Math.max(1, this.wires.length))
      const cap = Math.min(MAX_BLOCKS_PER_PEER, Math.max(MIN_BLOCKS_PER_PEER, share))
      // A new extended handshake replaces the object: remember the peer's own reqq once per object.
      if (!w.peerExtendedHandshake) w.peerExtendedHandshake = {}
      const hs = w.peerExtendedHandshake as { reqq?: unknown; peerReqq?: number }
      if (hs.peerReqq === undefined) hs.peerReqq = typeof hs.reqq === 'number' && hs.reqq > 0 ? hs.reqq : Infinity
      hs.reqq = Math.min(cap, hs.peerReqq)
      // As getBlockPipelineLength: one second of data at this peer's rate, at most reqq.
      const depth = Math.min(2 + Math.ceil(w.downloadSpeed() / BLOCK_LENGTH), hs.peerReqq, cap)
      fillFromStarted(this as unknown as PartialHost, w as unknown as Parameters<typeof fillFromStarted>[1], depth)
    }
    return updateWire.call(this, wire)
  }

  // peer.js `setThrottlePipes`: socket -> speed-limiter -> counting Transform
  // -> wire -> speed-limiter -> counting Transform -> socket, for every
  // chunk, and one socket write (one syscall) per protocol message: a 17-byte
  // REQUEST, a 13-byte PIECE header and its block each. Without rate limits
  // (the engine sets none) pipe directly, count on the way, and cork the
  // socket until the end of the event-loop turn so all messages queued in
  // one turn leave in one writev.
  const peerProto = (Peer as unknown as { prototype: { setThrottlePipes(this: PeerInternals): void } }).prototype
  const throttled = peerProto.setThrottlePipes
  peerProto.setThrottlePipes = function (this: PeerInternals) {
    if (this.throttleGroups.down.getEnabled() || this.throttleGroups.up.getEnabled()) return throttled.call(this)
    const { conn, wire } = this
    conn.on('data', (chunk) => {
      this.emit('download', chunk.length)
      if (this.destroyed) return
      if (!wire.write(chunk)) {
        conn.pause()
        wire.once('drain', () => conn.resume())
      }
    })
    let corked = false
    const uncork = () => {
      corked = false
      if (!conn.destroyed) conn.uncork()
    }
    wire.on('data', (chunk) => {
      this.emit('upload', chunk.length)
      if (this.destroyed) return
      if (!corked) {
        corked = true
        conn.cork()
        setImmediate(uncork)
      }
      if (!conn.write(chunk)) {
        wire.pause()
        conn.once('drain', () => wire.resume())
      }
    })
  }
}

/** Azureus-style peer id prefix "-WW" of webtorrent, as webtorrent stores peer ids: hex. */
const WEBTORRENT_PEER_ID_HEX = Buffer.from('-WW').toString('hex')

type RequestCb = (err: Error | null, buf?: Uint8Array) => void

function splitRequests(wire: WtWire): void {
  const w = wire as WtWire & { request(i: number, o: number, l: number, cb: RequestCb): void }
  const request = w.request.bind(w)
  w.request = (index, offset, length, cb) => {
    if (length <= STANDARD_BLOCK) return request(index, offset, length, cb)
    const n = Math.ceil(length / STANDARD_BLOCK)
    const parts: Uint8Array[] = new Array(n)
    let left = n
    let failed = false
    for (let k = 0; k < n; k++) {
      const off = k * STANDARD_BLOCK
      request(index, offset + off, Math.min(STANDARD_BLOCK, length - off), (err, buf) => {
        if (failed) return
        if (err || !buf) {
          failed = true
          return cb(err ?? new Error('empty block'))
        }
        parts[k] = Buffer.from(buf) // the wire reuses its buffer (wire-parse.ts)
        if (--left === 0) cb(null, Buffer.concat(parts))
      })
    }
  }
}
