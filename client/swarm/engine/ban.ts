// Bans peers that send data failing its piece hash. Stock webtorrent only
// emits a warning and downloads the piece again, possibly from the same peer.
// Here each block copied into a piece is remembered with its sender (piece.ts
// keeps the wire per block, and the bytes once the piece is complete); only
// when a piece fails are its blocks hashed, one SHA-1 each, from the failed
// piece's bytes. Hashing every block on arrival, as an earlier version did,
// doubled the SHA-1 work of every download. When a piece fails:
// - a sole sender is banned at once;
// - with several senders nobody is blamed yet: the failed attempt's blocks
//   are kept, and once the piece verifies (from whoever), each kept block is
//   compared with the good piece; the senders of blocks that differ are
//   banned. So an honest peer (the server's seeder, another node) that shared
//   a piece with a liar is never thrown out, however often that happens; an
//   earlier version gave each sender a strike and banned at two, which in
//   fault test 4 banned the server's seeder.
// - the next attempt at such a piece is requested from one of its senders
//   only (the one that sent most of it), while that peer stays connected and
//   unchoked: either it verifies (and the comparison names the liar) or it
//   fails with a sole sender (banned). Without this a fast liar took blocks
//   of every attempt at every piece, nothing verified, and nobody was banned
//   for a long time (fault test 4: 255 failed pieces for a 12 MB image).
// Bans are by peer id and by address:port, never by IP alone: on one host or
// behind NAT every peer has the same IP.
import { createHash } from 'node:crypto'
import { flushedAttempt } from './piece.ts'
import { BLOCK_LENGTH } from './tuning.ts'
import type { WtTorrent, WtWire } from './wt-types.ts'

const FAILED = /^Piece (\d+) failed verification$/
/** Failed attempts kept per piece for the comparison (bounds memory against a piece that keeps failing). */
const MAX_ATTEMPTS = 4

interface Block {
  wire: WtWire
  offset: number
  length: number
  sha1: Buffer
}

export class PeerBans {
  readonly #torrent: WtTorrent
  readonly #warn: (msg: string) => void
  /** The Piece object (torrent-piece, patched by piece.ts) of the current attempt at each piece. */
  readonly #attempts = new Map<number, unknown>()
  /** Blocks of failed attempts with several senders, compared once the piece verifies. */
  readonly #suspect = new Map<number, Block[][]>()
  /** Pieces whose next attempt only this wire may serve. */
  readonly #only = new Map<number, WtWire>()
  readonly #ids = new Set<string>()
  readonly #addrs = new Set<string>()
  piecesFailed = 0
  peersBanned = 0

  constructor(torrent: WtTorrent, warn: (msg: string) => void) {
    this.#torrent = torrent
    this.#warn = warn
    // Refuse outgoing (re)connections to a banned address: webtorrent re-adds
    // a closed peer after a back-off, and the tracker keeps listing it.
    const addPeer = torrent._addPeer.bind(torrent)
    torrent._addPeer = (peer, type, source) => {
      if (typeof peer === 'string' && this.#addrs.has(peer)) return null
      return addPeer(peer, type, source)
    }
    const request = torrent._request.bind(torrent)
    torrent._request = (wire, index, hotswap) => {
      const only = this.#only.get(index)
      if (only !== undefined && only !== wire) {
        if (!only.destroyed && !only.peerChoking && !this.isBanned(only)) return false
        this.#only.delete(index)
      }
      return request(wire, index, hotswap)
    }
    torrent.on('wire', (wire) => this.#onWire(wire))
    torrent.on('verified', (index) => this.#onVerified(index))
  }

  /** Called with each torrent 'warning'; true when it was a failed piece (handled here). */
  onWarning(err: Error | string): boolean {
    const m = FAILED.exec(typeof err === 'string' ? err : err.message)
    if (!m) return false
    this.#onPieceFailed(Number(m[1]))
    return true
  }

  isBanned(wire: WtWire): boolean {
    return this.#ids.has(wire.peerId) || this.#addrs.has(addrOf(wire))
  }

  #onWire(wire: WtWire): void {
    if (this.isBanned(wire)) {
      this.#drop(wire)
      return
    }
    // Emitted synchronously after webtorrent copied the block into its piece (and, for the last
    // block, before the piece's hash is checked): the piece in the torrent's list now is the
    // attempt the block went into. Which wire sent which block the Piece object itself records.
    wire.on('piece', (index: number) => {
      const p = this.#torrent.pieces[index]
      if (p) this.#attempts.set(index, p)
    })
  }

  /** The failed attempt's blocks with their senders and SHA-1s, hashed now from the piece's bytes. */
  #failedBlocks(index: number): Block[] {
    const a = flushedAttempt(this.#attempts.get(index), BLOCK_LENGTH)
    this.#attempts.delete(index)
    if (!a) return []
    const out: Block[] = []
    for (let k = 0; k < a.from.length; k++) {
      const wire = a.from[k] as WtWire | undefined
      if (!wire) continue
      const offset = k * a.blockLength
      const block = a.bytes.subarray(offset, offset + a.blockLength)
      out.push({ wire, offset, length: block.length, sha1: createHash('sha1').update(block).digest() })
    }
    return out
  }

  #onPieceFailed(index: number): void {
    this.piecesFailed++
    const blocks = this.#failedBlocks(index)
    const senders = new Set(blocks.map((b) => b.wire))
    if (senders.size === 0) {
      this.#warn(`piece ${index} failed its hash check; its sender is gone`)
      return
    }
    this.#only.delete(index)
    if (senders.size === 1) {
      this.#ban([...senders][0] as WtWire, index)
      return
    }
    const attempts = this.#suspect.get(index) ?? []
    attempts.push(blocks)
    this.#suspect.set(index, attempts.slice(-MAX_ATTEMPTS))
    this.#only.set(index, mostBlocks(blocks))
  }

  #onVerified(index: number): void {
    this.#attempts.delete(index)
    this.#only.delete(index)
    const attempts = this.#suspect.get(index)
    if (!attempts) return
    this.#suspect.delete(index)
    const store = this.#torrent.store
    if (!store) return
    store.get(index, (err, piece) => {
      if (err || !piece) {
        this.#warn(`piece ${index} verified but could not be read back to find who sent bad data: ${err?.message}`)
        return
      }
      for (const b of attempts.flat()) {
        if (this.isBanned(b.wire)) continue
        const good = createHash('sha1')
          .update(piece.subarray(b.offset, b.offset + b.length))
          .digest()
        if (!good.equals(b.sha1)) this.#ban(b.wire, index)
      }
    })
  }

  #ban(wire: WtWire, index: number): void {
    if (this.isBanned(wire)) return
    const addr = addrOf(wire)
    this.#ids.add(wire.peerId)
    // A web seed has no address; dropping its wire stops using it.
    if (wire.type !== 'webSeed') this.#addrs.add(addr)
    this.peersBanned++
    this.#warn(
      `banned peer ${addr || wire.type} (id ${wire.peerId}): sent data for piece ${index} that failed its hash`,
    )
    this.#drop(wire)
  }

  #drop(wire: WtWire): void {
    const id = wire.type === 'webSeed' ? wire.url : addrOf(wire)
    if (id) this.#torrent.removePeer(id)
    if (!wire.destroyed) wire.destroy()
  }
}

function addrOf(wire: WtWire): string {
  return wire.remoteAddress === undefined ? '' : `${wire.remoteAddress}:${wire.remotePort}`
}

/** The wire that sent the most bytes of an attempt. */
function mostBlocks(blocks: Block[]): WtWire {
  const bytes = new Map<WtWire, number>()
  for (const b of blocks) bytes.set(b.wire, (bytes.get(b.wire) ?? 0) + b.length)
  return [...bytes].reduce((a, b) => (b[1] > a[1] ? b : a))[0]
}
