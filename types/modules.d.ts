// Minimal declarations for dependencies that ship no types. Only what we use.
declare module 'webtorrent' {
  const WebTorrent: new (
    opts?: Record<string, unknown>,
  ) => {
    add: (...args: unknown[]) => unknown
    destroy: (cb?: (err?: Error) => void) => void
  }
  export default WebTorrent
}
declare module 'bittorrent-tracker' {
  import type { RemoteInfo, Socket } from 'node:dgram'
  import type { EventEmitter } from 'node:events'
  import type { IncomingMessage, ServerResponse } from 'node:http'
  import type { Duplex } from 'node:stream'

  /** What the server's parsers hand to `filter` (info_hash and peer_id as hex). */
  export interface AnnounceParams {
    type: 'http' | 'udp' | 'ws'
    info_hash: string
    peer_id: string
    port?: number
    numwant: number
    event?: string
    left?: number
    ip?: string
    httpReq?: IncomingMessage
  }
  export interface TrackerSwarm {
    infoHash: string
    complete: number
    incomplete: number
    peers: { keys: string[]; length: number; peek(key: string): unknown }
  }
  export interface ServerOptions {
    http?: boolean | Record<string, unknown>
    udp?: boolean | Record<string, unknown>
    ws?: boolean | Record<string, unknown>
    stats?: boolean
    trustProxy?: boolean
    /** Milliseconds. */
    interval?: number
    peersCacheLength?: number
    /** Milliseconds. */
    peersCacheTtl?: number
    filter?: (infoHash: string, params: AnnounceParams, cb: (err?: Error | null) => void) => void
  }
  export class Server extends EventEmitter {
    constructor(opts?: ServerOptions)
    torrents: Record<string, TrackerSwarm>
    udp4: Socket | null
    udp6: Socket | null
    ws:
      | (EventEmitter & {
          handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, cb: (ws: unknown) => void): void
        })
      | null
    destroyed: boolean
    onHttpRequest(req: IncomingMessage, res: ServerResponse, opts?: { action?: string; trustProxy?: boolean }): void
    onUdpRequest(msg: Buffer, rinfo: RemoteInfo): void
    close(cb?: (err?: Error | null) => void): void
  }
  export interface ClientOptions {
    infoHash: string | Uint8Array
    peerId: string | Uint8Array
    announce: string | string[]
    port: number
    getAnnounceOpts?: () => Record<string, unknown>
  }
  export class Client extends EventEmitter {
    constructor(opts: ClientOptions)
    start(opts?: Record<string, unknown>): void
    stop(opts?: Record<string, unknown>): void
    complete(opts?: Record<string, unknown>): void
    update(opts?: Record<string, unknown>): void
    scrape(opts?: Record<string, unknown>): void
    setInterval(ms: number): void
    destroy(cb?: (err?: Error | null) => void): void
  }
  export default Client
}
declare module 'parse-torrent' {
  interface Parsed {
    infoHash: string
    private?: boolean
    pieceLength?: number
    pieces?: string[]
    announce?: string[]
    urlList?: string[]
    created?: Date
    name?: string
    length?: number
  }
  export default function parseTorrent(torrent: Buffer | string): Promise<Parsed>
}
// webtorrent internals patched at run time by client/swarm/engine/tuning.ts;
// their shapes are declared there, structurally.
declare module 'webtorrent/lib/torrent.js' {
  const Torrent: unknown
  export default Torrent
}
declare module 'webtorrent/lib/rarity-map.js' {
  const RarityMap: unknown
  export default RarityMap
}
declare module 'webtorrent/lib/webconn.js' {
  const WebConn: unknown
  export default WebConn
}
declare module 'webtorrent/lib/peer.js' {
  const Peer: unknown
  export default Peer
}
declare module 'torrent-piece' {
  const Piece: unknown
  export default Piece
}
declare module 'bittorrent-protocol' {
  const Wire: unknown
  export default Wire
}
declare module 'fs-chunk-store' {
  const FSChunkStore: unknown
  export default FSChunkStore
}
