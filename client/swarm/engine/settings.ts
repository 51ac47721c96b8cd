// webtorrent settings for an install swarm. Every value here differs from
// webtorrent's default for a reason given beside it (docs/swarm.md).
import FSChunkStore from 'fs-chunk-store'
import { FileStore } from './file-store.ts'
import { bufferViewStore } from './store-view.ts'

type StoreCtor = new (chunkLength: number, opts: Record<string, unknown>) => unknown

/** FileStore for single-file torrents (all of ours), fs-chunk-store otherwise. */
function defaultStore(chunkLength: number, opts: Record<string, unknown>): unknown {
  return FileStore.fits(opts) ? new FileStore(chunkLength, opts) : new (FSChunkStore as StoreCtor)(chunkLength, opts)
}

/** Default number of peer connections per node. */
export const DEFAULT_MAX_CONNS = 80

/**
 * Pieces held by cache-chunk-store in front of the store, for serving
 * uploads (a peer's 16 KiB requests read the whole piece once). Bounds the
 * cache at CACHE_SLOTS x piece length (webtorrent's default is 20).
 */
export const CACHE_SLOTS = 8

/** Options for `new WebTorrent(...)`. */
export function clientOptions(o: {
  port?: number | undefined
  maxConns?: number | undefined
}): Record<string, unknown> {
  return {
    dht: false,
    lsd: false,
    // No PEX: peers come from our tracker only (the torrent is private anyway).
    utPex: false,
    utp: false,
    natUpnp: false,
    natPmp: false,
    // BEP 8 encryption (webtorrent's default is "try it"): RC4 in JavaScript
    // costs most of the throughput and a private LAN swarm gains nothing.
    secure: 0,
    webSeeds: true,
    torrentPort: o.port ?? 0,
    maxConns: o.maxConns ?? DEFAULT_MAX_CONNS,
    // Serve other nodes while downloading (webtorrent default, made explicit).
    seedOutgoingConnections: true,
  }
}

/** Options for `client.add(torrent, ...)`. */
export function torrentOptions(o: {
  path?: string | undefined
  store?: unknown
  storeOpts?: Record<string, unknown> | undefined
  bitfield: Uint8Array
}): Record<string, unknown> {
  return {
    // Rarest-first spreads pieces across the swarm (webtorrent's default is sequential).
    strategy: 'rarest',
    private: true,
    path: o.path,
    store: bufferViewStore(o.store === undefined ? defaultStore : (len, opts) => new (o.store as StoreCtor)(len, opts)),
    storeOpts: o.storeOpts ?? {},
    storeCacheSlots: CACHE_SLOTS,
    bitfield: o.bitfield,
    // Never delete what was installed when the session ends.
    destroyStoreOnDestroy: false,
    // Unchoke slots for uploads: every node is a server for the others.
    uploads: 16,
    // Whole-piece requests in flight to the web seed (webtorrent's default is 4). Each holds a
    // piece-sized buffer (2 MiB above 1 GiB images) plus the piece it fills; 2 keep a LAN web seed
    // busy and took the 4 GB install's peak RSS from 324 to 291 MB (docs/bench-install.md).
    maxWebConns: 2,
  }
}
