// One download session: a webtorrent client with one torrent, resume from a
// bitfield, peer bans, counters, and the seeding phase afterwards.
import WebTorrent from 'webtorrent'
import { errors } from '../../../common/errors.ts'
import { parseTorrentInfo } from '../../../common/torrent.ts'
import { PeerBans } from './ban.ts'
import { seedWhileNeeded } from './seed-while-needed.ts'
import { clientOptions, torrentOptions } from './settings.ts'
import { Counters, type SwarmStats } from './stats.ts'
import { applyTuning } from './tuning.ts'
import type { WtClient, WtTorrent } from './wt-types.ts'

export interface SwarmOptions {
  /** Verified .torrent bytes (private, announce = our tracker, url-list = our web seed). */
  torrent: Buffer
  /** abstract-chunk-store constructor; default: webtorrent's fs store under `path`. */
  store?: unknown
  storeOpts?: Record<string, unknown>
  /** Folder for the default store. */
  path?: string
  /** Pieces already stored and verified (resume): trusted, never requested again. */
  bitfield?: Uint8Array
  /** Listen port for incoming peers (0 = any). */
  port?: number
  signal?: AbortSignal
  maxConns?: number
  /** About once per second while the session runs. */
  onProgress?: (s: SwarmStats) => void
  onWarning?: (msg: string) => void
  /**
   * Addresses of the image server: bytes from peers at these addresses (its first seeder) are
   * counted apart, as `bytesFromServerPeer`, so reports can tell the server's share from the nodes'.
   */
  serverAddresses?: readonly string[]
}

export interface SeedOptions {
  /** Longest time to keep seeding, ms. */
  maxMs: number
  /** Return once no connected peer has needed a piece for this long, ms (default 3000). */
  quietMs?: number
  signal?: AbortSignal
}

export interface SwarmSession {
  /** Resolves when every piece is verified and stored; rejects with an ImgswarmError. */
  readonly done: Promise<SwarmStats>
  /** The port other peers reach this node on. */
  readonly port: number
  stats(): SwarmStats
  /** Pieces verified and stored so far (BEP 3 bit order): persist it to resume later. */
  bitfield(): Uint8Array
  /** Keeps seeding while connected peers still miss pieces, at most maxMs. */
  seedWhileNeeded(o: SeedOptions): Promise<SwarmStats>
  /** Closes sockets, announces 'stopped', closes (never destroys) the store. Idempotent. */
  destroy(): Promise<void>
}

function popcount(bits: Uint8Array, n: number): number {
  let c = 0
  for (let i = 0; i < n; i++) if ((bits[i >> 3] as number) & (0x80 >> (i & 7))) c++
  return c
}

export async function startSwarm(o: SwarmOptions): Promise<SwarmSession> {
  if (o.signal?.aborted) throw errors.swarmAborted('the download')
  const info = parseTorrentInfo(o.torrent, 'torrent')
  if (!info.private) throw errors.swarmTorrent('it is not private (BEP 27): it could leak to public swarms')
  if (info.pieces.length === 0 || info.pieces.length % 20 !== 0)
    throw errors.swarmTorrent('its piece list is malformed')
  const numPieces = info.pieces.length / 20
  const want = Math.ceil(numPieces / 8)
  if (o.bitfield && o.bitfield.length !== want) throw errors.swarmBitfield(o.bitfield.length, want)
  const bitfield = new Uint8Array(want)
  if (o.bitfield) bitfield.set(o.bitfield)
  // Bits past the last piece must be zero (BEP 3), or webtorrent reads them as pieces.
  if (numPieces % 8 !== 0) bitfield[want - 1] = (bitfield[want - 1] as number) & (0xff << (8 - (numPieces % 8)))

  applyTuning()
  const warn = o.onWarning ?? (() => undefined)
  const client = new WebTorrent(clientOptions(o)) as unknown as WtClient
  await new Promise<void>((resolve, reject) => {
    if (client.listening) return resolve()
    client.once('listening', () => resolve())
    client.once('error', (e: Error) => {
      reject(errors.swarmListen(o.port ?? 0, e.message))
      // webtorrent's destroy throws when its server never listened (ERR_SERVER_NOT_RUNNING).
      try {
        client.destroy(() => undefined)
      } catch {}
    })
  })
  return new Session(client, o, bitfield, popcount(bitfield, numPieces), numPieces, warn)
}

class Session implements SwarmSession {
  readonly done: Promise<SwarmStats>
  readonly #client: WtClient
  readonly #torrent: WtTorrent
  readonly #counters: Counters
  readonly #bans: PeerBans
  readonly #timer: NodeJS.Timeout | undefined
  #final: SwarmStats | undefined
  #bits: Uint8Array | undefined
  readonly #start: Uint8Array
  #destroying: Promise<void> | undefined
  #fail: (e: Error) => void = () => undefined

  constructor(
    client: WtClient,
    o: SwarmOptions,
    bitfield: Uint8Array,
    had: number,
    total: number,
    warn: (m: string) => void,
  ) {
    this.#client = client
    this.#start = bitfield
    this.#counters = new Counters(total, had, o.serverAddresses)
    const t = client.add(o.torrent, torrentOptions({ path: o.path, store: o.store, storeOpts: o.storeOpts, bitfield }))
    this.#torrent = t
    // Trust the resume bitfield: the orchestrator records a piece only after
    // it was verified and stored, and the archive's SHA-256 is checked over
    // the whole image before success. webtorrent would instead re-read and
    // hash sample pieces (or everything, without a bitfield) at start.
    t._verifyPieces = (cb) => queueMicrotask(() => cb(null))
    this.#bans = new PeerBans(t, warn)
    this.#counters.watch(t)
    this.done = new Promise<SwarmStats>((resolve, reject) => {
      this.#fail = reject
      t.once('done', () => resolve(this.stats()))
    })
    this.done.catch(() => undefined)
    t.on('warning', (e) => {
      if (!this.#bans.onWarning(e)) warn(typeof e === 'string' ? e : e.message)
    })
    const onError = (e: Error | string) => {
      const msg = typeof e === 'string' ? e : e.message
      this.#fail(/store|ENOSPC|EIO|EROFS|EACCES/i.test(msg) ? errors.swarmStore(msg) : errors.swarm(msg))
    }
    t.on('error', onError)
    client.on('error', onError)
    if (o.onProgress) {
      const cb = o.onProgress
      this.#timer = setInterval(() => cb(this.stats()), 1000)
      this.#timer.unref()
    }
    o.signal?.addEventListener('abort', () => {
      this.#fail(errors.swarmAborted('the download'))
      void this.destroy()
    })
  }

  get port(): number {
    return this.#client.torrentPort
  }

  stats(): SwarmStats {
    return this.#final ?? this.#counters.snapshot(this.#torrent, this.#bans)
  }

  bitfield(): Uint8Array {
    const t = this.#torrent
    if (t.ready && !t.destroyed) this.#bits = t.bitfield.buffer.slice(0, this.#start.length)
    return new Uint8Array(this.#bits ?? this.#start)
  }

  seedWhileNeeded(o: SeedOptions): Promise<SwarmStats> {
    return seedWhileNeeded(this.#torrent, o).then(() => this.stats())
  }

  destroy(): Promise<void> {
    this.#destroying ??= new Promise<void>((resolve) => {
      clearInterval(this.#timer)
      this.#final = this.#counters.snapshot(this.#torrent, this.#bans)
      this.bitfield()
      this.#fail(errors.swarmAborted('the download'))
      this.#client.destroy(() => resolve())
    })
    return this.#destroying
  }
}
