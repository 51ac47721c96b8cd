// The first seeder: webtorrent seeding every packed archive straight from
// the store. An archive is hashed once; a marker (size, mtime, inode, info
// hash) lets a restart skip the re-hash while the file is unchanged. New packs
// are picked up by polling the store, without a restart.
import { readFile, rm, stat, writeFile } from 'node:fs/promises'
import net from 'node:net'
import type { Transform } from 'node:stream'
import parseTorrent from 'parse-torrent'
import WebTorrent from 'webtorrent'
import type { Logger } from '../../common/log.ts'
import type { Kind, PackedInfo, Store } from '../store/store.ts'

export interface FirstSeederInit {
  store: Store
  /** Announce URLs used instead of those in the stored .torrent (the local tracker). */
  announce: string[]
  /** BitTorrent listen port (0 = any) and address (default: all). */
  port?: number
  host?: string
  /** Off by default: a fleet's private swarm needs none of them. */
  dht?: boolean
  lsd?: boolean
  utp?: boolean
  natUpnp?: boolean
  natPmp?: boolean
  maxConns?: number
  /** Upload cap in bytes per second (0 or undefined: none). */
  uploadLimit?: number
  /** How often to look for new or removed packs, ms (default 5000; 0 = never). */
  pollMs?: number
  /** webtorrent tracker options, e.g. { proxyOpts: { httpsAgent } } to announce over HTTPS with serve's own CA. */
  trackerOpts?: Record<string, unknown>
  /** Packs never to seed (direct overrides, docs/secrets.md); one already seeded is dropped at the next refresh. */
  skip?: (kind: Kind, info: PackedInfo) => boolean
  logger?: Logger
}

export interface SeededTorrent {
  kind: Kind
  ref: string
  infoHash: string
  size: number
  uploaded: number
  peers: number
  verifiedBy: 'marker' | 'hashing'
}

export interface FirstSeederStatus {
  listening: boolean
  port: number | undefined
  torrents: SeededTorrent[]
  /** Archives hashed since start (0 after a restart over unchanged archives). */
  hashed: number
  uploaded: number
  /** Packs that could not be seeded (archive does not match its torrent, unreadable, ...). */
  failed: { ref: string; infoHash: string; message: string }[]
}

interface Marker {
  infoHash: string
  size: number
  mtimeMs: number
  ino: number
}

type WtTorrent = {
  infoHash: string
  uploaded: number
  numPeers: number
  on(ev: string, cb: (...a: unknown[]) => void): void
  once(ev: string, cb: (...a: unknown[]) => void): void
}
type WtClient = {
  torrentPort: number
  listening: boolean
  add(t: unknown, opts: Record<string, unknown>, cb?: (t: WtTorrent) => void): WtTorrent
  remove(id: string, opts: Record<string, unknown>, cb: (err?: Error) => void): void
  destroy(cb: (err?: Error) => void): void
  on(ev: string, cb: (...a: unknown[]) => void): void
  throttleUpload(rate: number): void
  throttleGroups: { up: { throttle(): Transform } }
}

/** webtorrent has no listen-address option: bind its TCP server to `host` while the client is built. */
function withListenHost<T>(host: string | undefined, build: () => T): T {
  if (!host) return build()
  const orig = net.createServer
  net.createServer = ((...args: Parameters<typeof net.createServer>) => {
    const server = orig(...args)
    const listen = server.listen.bind(server) as (...a: unknown[]) => net.Server
    server.listen = ((port: number, cb?: () => void) => listen(port, host, cb)) as typeof server.listen
    return server
  }) as typeof net.createServer
  try {
    return build()
  } finally {
    net.createServer = orig
  }
}

export class FirstSeeder {
  readonly #init: FirstSeederInit
  #client: WtClient | undefined
  readonly #seeded = new Map<string, { info: PackedInfo; kind: Kind; torrent: WtTorrent; by: 'marker' | 'hashing' }>()
  #hashed = 0
  /** Failed packs, keyed by info hash, with the archive state they failed in (retried when it changes). */
  readonly #failed = new Map<string, { ref: string; message: string; state: string }>()
  #timer: NodeJS.Timeout | undefined
  #refreshing: Promise<void> | undefined
  #started = false
  /** Set once the first scan of the store has finished: readiness does not flap with later rescans. */
  #scanned = false

  constructor(init: FirstSeederInit) {
    this.#init = init
  }

  /**
   * A stream that paces web seed bytes out of the same upload budget as the
   * seeder's peers, when an upload limit is set; undefined otherwise.
   */
  uploadThrottle(): Transform | undefined {
    if (!this.#init.uploadLimit || !this.#client) return undefined
    return this.#client.throttleGroups.up.throttle()
  }

  async start(): Promise<void> {
    if (this.#started) return
    this.#started = true
    const i = this.#init
    const client = withListenHost(
      i.host,
      () =>
        new WebTorrent({
          dht: i.dht ?? false,
          lsd: i.lsd ?? false,
          utp: i.utp ?? false,
          natUpnp: i.natUpnp ?? false,
          natPmp: i.natPmp ?? false,
          webSeeds: false,
          torrentPort: i.port ?? 0,
          maxConns: i.maxConns ?? 200,
          ...(i.trackerOpts ? { tracker: i.trackerOpts } : {}),
        }) as unknown as WtClient,
    )
    this.#client = client
    if (i.uploadLimit) client.throttleUpload(i.uploadLimit)
    client.on('error', (e) => i.logger?.error({ err: e }, 'seeder error'))
    await new Promise<void>((resolve, reject) => {
      if (client.listening) return resolve()
      client.on('listening', () => resolve())
      client.on('error', (e) => reject(e as Error))
    })
    await this.refresh()
    this.#scanned = true
    const poll = i.pollMs ?? 5000
    if (poll > 0) {
      this.#timer = setInterval(() => {
        this.refresh().catch((e) => i.logger?.warn({ err: e }, 'seeder refresh failed'))
      }, poll)
      this.#timer.unref()
    }
  }

  /**
   * Adds packs that appeared and drops those removed from the store. The
   * caller may pass the store's packed versions when it has just listed them.
   */
  refresh(packed?: { kind: Kind; info: PackedInfo }[]): Promise<void> {
    this.#refreshing ??= this.#refresh(packed).finally(() => {
      this.#refreshing = undefined
    })
    return this.#refreshing
  }

  async #refresh(given?: { kind: Kind; info: PackedInfo }[]): Promise<void> {
    const skip = this.#init.skip
    const all = given ?? (await this.#init.store.allPacked())
    const packed = skip ? all.filter((p) => !skip(p.kind, p.info)) : all
    const present = new Set<string>()
    for (const { kind, info } of packed) {
      const hash = info.manifest.torrent.infoHash
      present.add(hash)
      if (this.#seeded.has(hash)) continue
      const state = await stat(info.archive).then(
        (st) => `${st.size}:${st.mtimeMs}:${st.ino}`,
        () => 'missing',
      )
      if (this.#failed.get(hash)?.state === state) continue
      try {
        await this.#add(kind, info)
        this.#failed.delete(hash)
      } catch (e) {
        const ref = `${info.manifest.name}@${info.manifest.version}`
        this.#failed.set(hash, { ref, message: (e as Error).message, state })
        this.#init.logger?.error({ ref, err: e }, 'cannot seed this pack')
      }
    }
    for (const [hash, s] of this.#seeded) {
      if (present.has(hash)) continue
      this.#seeded.delete(hash)
      await new Promise<void>((r) => this.#client?.remove(hash, {}, () => r()))
      this.#init.logger?.info({ ref: s.info.manifest.name, infoHash: hash }, 'stopped seeding a removed pack')
    }
  }

  #markerFile(info: PackedInfo): string {
    return `${info.archive}.seeded.json`
  }

  async #markerValid(info: PackedInfo): Promise<boolean> {
    try {
      const m = JSON.parse(await readFile(this.#markerFile(info), 'utf8')) as Marker
      const st = await stat(info.archive)
      return (
        m.infoHash === info.manifest.torrent.infoHash &&
        m.size === st.size &&
        m.mtimeMs === st.mtimeMs &&
        m.ino === st.ino
      )
    } catch {
      return false
    }
  }

  async #add(kind: Kind, info: PackedInfo): Promise<void> {
    const client = this.#client
    if (!client) return
    const parsed = (await parseTorrent(await readFile(info.torrent))) as unknown as Record<string, unknown>
    parsed.announce = this.#init.announce
    parsed.urlList = []
    const trusted = await this.#markerValid(info)
    const ref = `${info.manifest.name}@${info.manifest.version}`
    const log = this.#init.logger
    if (!trusted) log?.info({ ref }, 'hashing archive before seeding (first time, or the file changed)')
    const torrent = await new Promise<WtTorrent>((resolve, reject) => {
      const t = client.add(parsed, {
        path: this.#init.store.packedDir(kind),
        skipVerify: trusted,
        strategy: 'rarest',
      })
      t.once('ready', () => resolve(t))
      t.once('error', (e) => reject(e as Error))
    })
    await new Promise<void>((resolve, reject) => {
      const check = () => {
        const t = torrent as unknown as { progress: number; done: boolean }
        if (t.progress === 1 || t.done) return resolve()
        reject(new Error(`${info.archive} does not match its torrent: re-pack ${ref} or restore the archive`))
      }
      // webtorrent verifies asynchronously after 'ready' when hashing.
      if (trusted) check()
      else torrent.once('done', () => resolve())
      if (!trusted) setTimeout(check, 0).unref()
    }).catch(async (e) => {
      await new Promise<void>((r) => client.remove(info.manifest.torrent.infoHash, {}, () => r()))
      throw e
    })
    if (!trusted) {
      this.#hashed++
      const st = await stat(info.archive)
      const m: Marker = { infoHash: info.manifest.torrent.infoHash, size: st.size, mtimeMs: st.mtimeMs, ino: st.ino }
      await writeFile(this.#markerFile(info), `${JSON.stringify(m)}\n`)
    }
    this.#seeded.set(info.manifest.torrent.infoHash, { info, kind, torrent, by: trusted ? 'marker' : 'hashing' })
    log?.info({ ref, infoHash: info.manifest.torrent.infoHash, verifiedBy: trusted ? 'marker' : 'hashing' }, 'seeding')
  }

  /**
   * Listening, and the first scan of the store is done. A later rescan (every
   * pollMs, or one hashing a newly packed archive) leaves what is already
   * seeded seeding, so it does not make the server unready.
   */
  ready(): boolean {
    return this.#client?.listening === true && this.#scanned
  }

  get port(): number | undefined {
    return this.#client?.listening ? this.#client.torrentPort : undefined
  }

  /**
   * Per piece of a seeded torrent, how many connected peers have it (their
   * bitfields and HAVE messages): the swarm's piece-availability spread.
   */
  pieceAvailability(infoHash: string): number[] | undefined {
    const s = this.#seeded.get(infoHash)
    if (!s) return undefined
    const counts = new Array<number>(s.info.manifest.torrent.pieces).fill(0)
    const wires = (s.torrent as unknown as { wires?: { peerPieces?: { get(i: number): boolean } }[] }).wires ?? []
    for (const w of wires) {
      const bits = w.peerPieces
      if (!bits) continue
      for (let i = 0; i < counts.length; i++) if (bits.get(i)) counts[i] = (counts[i] as number) + 1
    }
    return counts
  }

  status(): FirstSeederStatus {
    const torrents = [...this.#seeded.values()].map((s) => ({
      kind: s.kind,
      ref: `${s.info.manifest.name}@${s.info.manifest.version}`,
      infoHash: s.info.manifest.torrent.infoHash,
      size: s.info.manifest.archive.size,
      uploaded: s.torrent.uploaded,
      peers: s.torrent.numPeers,
      verifiedBy: s.by,
    }))
    return {
      listening: this.#client?.listening === true,
      port: this.port,
      torrents,
      hashed: this.#hashed,
      uploaded: torrents.reduce((a, t) => a + t.uploaded, 0),
      failed: [...this.#failed].map(([infoHash, f]) => ({ ref: f.ref, infoHash, message: f.message })),
    }
  }

  async stop(): Promise<void> {
    if (!this.#started) return
    this.#started = false
    if (this.#timer) clearInterval(this.#timer)
    await this.#refreshing?.catch(() => undefined)
    const client = this.#client
    this.#client = undefined
    this.#seeded.clear()
    if (client) await new Promise<void>((r) => client.destroy(() => r()))
  }
}

/** Removes a pack's seeding marker (used when a version is deleted). */
export async function removeSeedMarker(info: PackedInfo): Promise<void> {
  await rm(`${info.archive}.seeded.json`, { force: true })
}
