// Bans peers that send data failing its piece hash. Stock webtorrent only
// emits a warning and downloads the piece again, possibly from the same peer.
// Here every wire that contributed a block to a piece is remembered; when the
// piece fails, a sole contributor is banned at once, and each of several
// contributors gets a strike (banned at two), so an honest peer that shared a
// piece with a liar once is not thrown out. Bans are by peer id and by
// address:port, never by IP alone: on one host or behind NAT every peer has
// the same IP.
import type { WtTorrent, WtWire } from './wt-types.ts'

const STRIKES_TO_BAN = 2
const FAILED = /^Piece (\d+) failed verification$/

export class PeerBans {
  readonly #torrent: WtTorrent
  readonly #warn: (msg: string) => void
  readonly #contributors = new Map<number, Set<WtWire>>()
  readonly #strikes = new WeakMap<WtWire, number>()
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
    torrent.on('wire', (wire) => this.#onWire(wire))
    torrent.on('verified', (index) => this.#contributors.delete(index))
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
    wire.on('piece', (index: number) => {
      let set = this.#contributors.get(index)
      if (!set) {
        set = new Set()
        this.#contributors.set(index, set)
      }
      set.add(wire)
    })
  }

  #onPieceFailed(index: number): void {
    this.piecesFailed++
    const wires = [...(this.#contributors.get(index) ?? [])]
    this.#contributors.delete(index)
    for (const wire of wires) {
      const strikes = (this.#strikes.get(wire) ?? 0) + (wires.length === 1 ? STRIKES_TO_BAN : 1)
      this.#strikes.set(wire, strikes)
      if (strikes >= STRIKES_TO_BAN) this.#ban(wire, index)
    }
    if (wires.length === 0) this.#warn(`piece ${index} failed its hash check; its sender is gone`)
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
