// Settings: flag > environment > config file > default, for every command.
import { existsSync, readFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { parse as parseToml } from 'smol-toml'
import { networksSetting, type RateLimitSetting, rateLimitSetting } from './config-limits.ts'
import { type ScheduleConfig, scheduleConfig } from './config-schedule.ts'
import { parseTlsSetting, type TlsSetting } from './config-tls.ts'
import { errors } from './errors.ts'

export const DEFAULT_STORE = '/var/lib/imgswarm'
export const DEFAULT_CONFIG = '/etc/imgswarm/imgswarm.toml'
export const DEFAULT_PORT = 8470

export interface Config {
  /** Where the config came from, for messages; undefined when none was read. */
  file: string | undefined
  store: string
  serverUrl: string
  /** Announce URLs for new torrents; empty means `${serverUrl}/announce`. */
  announce: string[]
  /** Web seed base URLs; empty means `${serverUrl}/webseed/`. */
  webseeds: string[]
  compression: 'none' | 'zstd'
  zstdLevel: number
  pieceLength: number | undefined
  serve: ServeConfig
}

export interface ServeConfig {
  host: string
  port: number
  /** URL nodes use to reach this server; default server_url. */
  publicUrl: string
  torrentPort: number
  plansFile: string | undefined
  /** The cluster config (docs/cluster-config.md); undefined: STORE/cluster.toml if it exists, else the plans file. */
  clusterFile: string | undefined
  udp: boolean
  peersCap: number
  intervalSec: number
  numwant: number
  dht: boolean
  lsd: boolean
  utp: boolean
  natUpnp: boolean
  natPmp: boolean
  /** Serve torrents, manifests and web seed only for versions some plan names. */
  restrictNodeReads: boolean
  /** The server's upload cap in bytes per second, shared by the first seeder and the web seed; 0: none. */
  uploadLimit: number
  /** Extra kernel parameters for the installer (iPXE script, boot info, boot media); '' for none. */
  bootCmdline: string
  /** Schedules, power control and notifications ([serve.schedule], [serve.power], [serve.notify]). */
  schedule?: ScheduleConfig
  /** HTTPS for the API, web seed, boot files and dashboard (docs/tls.md); undefined: plain HTTP. */
  tls?: TlsSetting | undefined
  /** Serve direct (secret) overrides over plain HTTP too (docs/secrets.md); default false. */
  allowInsecureDirect?: boolean
  /** Per-source limits of GET /api/v1/plan and POST /api/v1/events (docs/plan-signing.md#rate-limits). */
  rateLimit?: RateLimitSetting
  /** Announces only from these networks (CIDR); undefined: from anywhere (docs/tracker.md#network-allow-list). */
  trackerNetworks?: string[] | undefined
}

function int(file: string, v: unknown, key: string, min: number, max: number, fallback: number): number {
  if (v === undefined) return fallback
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw errors.config(file, `${key} must be an integer from ${min} to ${max}`)
  }
  return v
}

function bool(file: string, v: unknown, key: string, fallback: boolean): boolean {
  if (v === undefined) return fallback
  if (typeof v !== 'boolean') throw errors.config(file, `${key} must be true or false`)
  return v
}

export interface ConfigFlags {
  config?: string | undefined
  store?: string | undefined
}

function str(file: string, v: unknown, key: string): string | undefined {
  if (v === undefined) return undefined
  if (typeof v !== 'string' || v === '') throw errors.config(file, `${key} must be a non-empty string`)
  return v
}

function urls(file: string, v: unknown, key: string): string[] | undefined {
  if (v === undefined) return undefined
  const list = typeof v === 'string' ? [v] : v
  if (!Array.isArray(list) || !list.every((u) => typeof u === 'string' && /^(https?|udp):\/\/./.test(u))) {
    throw errors.config(file, `${key} must be a URL or a list of http(s):// or udp:// URLs`)
  }
  return list as string[]
}

export function parseSize(text: string, what: string): number {
  const m = /^([0-9]+)\s*(k|kib|m|mib|g|gib)?$/i.exec(text.trim())
  if (!m) throw errors.usage(`${what}: ${JSON.stringify(text)} is not a size`, 'use bytes or a unit: 512k, 2m, 4MiB')
  const unit = (m[2] ?? '').toLowerCase()[0]
  const mult = unit === 'k' ? 1024 : unit === 'm' ? 1 << 20 : unit === 'g' ? 1 << 30 : 1
  return Number(m[1]) * mult
}

export function loadConfig(flags: ConfigFlags = {}, env: NodeJS.ProcessEnv = process.env): Config {
  // IMGSWARM_CONFIG=none (or --config none) reads no config file at all.
  const explicit = flags.config ?? (env.IMGSWARM_CONFIG || undefined)
  const file = explicit === 'none' ? undefined : (explicit ?? (existsSync(DEFAULT_CONFIG) ? DEFAULT_CONFIG : undefined))
  let raw: Record<string, unknown> = {}
  if (file !== undefined) {
    let text: string
    try {
      text = readFileSync(file, 'utf8')
    } catch (e) {
      throw errors.config(file, `cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`)
    }
    try {
      raw = parseToml(text) as Record<string, unknown>
    } catch (e) {
      throw errors.config(file, (e as Error).message.split('\n')[0] ?? 'invalid TOML')
    }
  }
  const pack = (raw.pack ?? {}) as Record<string, unknown>
  const f = file ?? '(none)'
  const serverUrl =
    str(f, raw.server_url, 'server_url') ?? env.IMGSWARM_SERVER_URL ?? `http://${hostname()}:${DEFAULT_PORT}`
  const compression = str(f, pack.compression, 'pack.compression') ?? 'none'
  if (compression !== 'none' && compression !== 'zstd')
    throw errors.config(f, 'pack.compression must be "none" or "zstd"')
  const level = pack.zstd_level ?? 3
  if (typeof level !== 'number' || !Number.isInteger(level) || level < 1 || level > 19) {
    throw errors.config(f, 'pack.zstd_level must be an integer from 1 to 19')
  }
  const piece = str(f, pack.piece_size, 'pack.piece_size')
  return {
    file,
    store: flags.store ?? env.IMGSWARM_STORE ?? str(f, raw.store, 'store') ?? DEFAULT_STORE,
    serverUrl: serverUrl.replace(/\/+$/, ''),
    announce: urls(f, raw.announce, 'announce') ?? [],
    webseeds: urls(f, raw.webseed, 'webseed') ?? [],
    compression,
    zstdLevel: level,
    pieceLength: piece === undefined ? undefined : parseSize(piece, 'pack.piece_size'),
    serve: serveConfig(f, (raw.serve ?? {}) as Record<string, unknown>, serverUrl.replace(/\/+$/, '')),
  }
}

function serveConfig(f: string, s: Record<string, unknown>, serverUrl: string): ServeConfig {
  const t = (s.tracker ?? {}) as Record<string, unknown>
  const sd = (s.seeder ?? {}) as Record<string, unknown>
  return {
    host: str(f, s.host, 'serve.host') ?? '0.0.0.0',
    port: int(f, s.port, 'serve.port', 0, 65535, DEFAULT_PORT),
    publicUrl: (str(f, s.public_url, 'serve.public_url') ?? serverUrl).replace(/\/+$/, ''),
    torrentPort: int(f, s.torrent_port, 'serve.torrent_port', 0, 65535, DEFAULT_PORT + 2),
    plansFile: str(f, s.plans, 'serve.plans'),
    clusterFile: str(f, s.cluster, 'serve.cluster'),
    udp: bool(f, t.udp, 'serve.tracker.udp', true),
    peersCap: int(f, t.peers_cap, 'serve.tracker.peers_cap', 1, 10_000_000, 100_000),
    intervalSec: int(f, t.interval, 'serve.tracker.interval', 5, 3600, 30),
    numwant: int(f, t.numwant, 'serve.tracker.numwant', 1, 5000, 200),
    dht: bool(f, sd.dht, 'serve.seeder.dht', false),
    lsd: bool(f, sd.lsd, 'serve.seeder.lsd', false),
    utp: bool(f, sd.utp, 'serve.seeder.utp', false),
    natUpnp: bool(f, sd.upnp, 'serve.seeder.upnp', false),
    natPmp: bool(f, sd.natpmp, 'serve.seeder.natpmp', false),
    restrictNodeReads: bool(f, s.restrict_node_reads, 'serve.restrict_node_reads', true),
    uploadLimit: int(f, s.upload_limit, 'serve.upload_limit', 0, Number.MAX_SAFE_INTEGER, 0),
    bootCmdline: str(f, s.boot_cmdline, 'serve.boot_cmdline') ?? '',
    schedule: scheduleConfig(f, s),
    tls: parseTlsSetting(f, s.tls),
    allowInsecureDirect: bool(f, s.allow_insecure_direct, 'serve.allow_insecure_direct', false),
    rateLimit: rateLimitSetting(f, s.rate_limit),
    trackerNetworks: networksSetting(f, t.networks, 'serve.tracker.networks'),
  }
}
