// Counters of one swarm session, fed by wire events.
import type { PeerBans } from './ban.ts'
import type { WtTorrent, WtWire } from './wt-types.ts'

export interface SwarmStats {
  /** 0-100, verified pieces plus blocks of pieces in flight. */
  percent: number
  /** Payload bytes received (piece data, all sources, including data that later failed its hash). */
  bytesDown: number
  /** Payload bytes sent to other peers. */
  bytesUp: number
  /** Payload bytes from peer wires (the server's first seeder included). */
  bytesFromPeers: number
  /** The part of bytesFromPeers that came from the server's addresses (its first seeder). */
  bytesFromServerPeer: number
  bytesFromWebseed: number
  /** Bytes per second, averaged by webtorrent over the last seconds. */
  rateDown: number
  rateUp: number
  /** Open connections, web seeds included. */
  peers: number
  piecesTotal: number
  /** Pieces the resume bitfield marked present (never requested). */
  piecesHadAtStart: number
  /** Pieces downloaded and verified in this session. */
  piecesDownloaded: number
  /** Pieces that failed their hash check (downloaded again). */
  piecesFailed: number
  peersBanned: number
}

export class Counters {
  bytesFromPeers = 0
  bytesFromServerPeer = 0
  bytesFromWebseed = 0
  bytesUp = 0
  piecesDownloaded = 0
  readonly piecesTotal: number
  readonly piecesHadAtStart: number
  readonly #server: ReadonlySet<string>

  constructor(piecesTotal: number, piecesHadAtStart: number, serverAddresses: readonly string[] = []) {
    this.piecesTotal = piecesTotal
    this.piecesHadAtStart = piecesHadAtStart
    this.#server = new Set(serverAddresses.map(plainAddress))
  }

  watch(torrent: WtTorrent): void {
    torrent.on('wire', (wire: WtWire) => {
      const web = wire.type === 'webSeed'
      const server = !web && wire.remoteAddress !== undefined && this.#server.has(plainAddress(wire.remoteAddress))
      wire.on('download', (n: number) => {
        if (web) this.bytesFromWebseed += n
        else {
          this.bytesFromPeers += n
          if (server) this.bytesFromServerPeer += n
        }
      })
      wire.on('upload', (n: number) => {
        this.bytesUp += n
      })
    })
    torrent.on('verified', () => {
      this.piecesDownloaded++
    })
  }

  snapshot(torrent: WtTorrent | undefined, bans: PeerBans | undefined): SwarmStats {
    const live = torrent !== undefined && !torrent.destroyed && torrent.ready
    return {
      percent: live ? Math.round(torrent.progress * 10000) / 100 : 0,
      bytesDown: this.bytesFromPeers + this.bytesFromWebseed,
      bytesUp: this.bytesUp,
      bytesFromPeers: this.bytesFromPeers,
      bytesFromServerPeer: this.bytesFromServerPeer,
      bytesFromWebseed: this.bytesFromWebseed,
      rateDown: live ? Math.round(torrent.downloadSpeed) : 0,
      rateUp: live ? Math.round(torrent.uploadSpeed) : 0,
      peers: live ? torrent.numPeers : 0,
      piecesTotal: this.piecesTotal,
      piecesHadAtStart: this.piecesHadAtStart,
      piecesDownloaded: this.piecesDownloaded,
      piecesFailed: bans?.piecesFailed ?? 0,
      peersBanned: bans?.peersBanned ?? 0,
    }
  }
}

/** An IPv4 address as a dual-stack socket reports it (`::ffff:10.0.0.1`) is the plain one. */
function plainAddress(a: string): string {
  return a.startsWith('::ffff:') ? a.slice(7) : a.toLowerCase()
}
