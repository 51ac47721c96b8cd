// The tracker's public surface: an HTTP + UDP (BEP 15) BitTorrent tracker
// that `imgswarm serve` embeds and `imgswarm tracker` runs on its own.
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import type { Logger } from '../common/log.ts'
import type { AllowList } from './allow-list.ts'
import type { TrackerStats } from './metrics.ts'
import { createTrackerImpl } from './tracker.ts'

export type { AllowList, FileAllowListOpts } from './allow-list.ts'
export { fileAllowList, parseAllowList, setAllowList } from './allow-list.ts'
export { DEFAULT_TRACKER_PORT } from './constants.ts'
export type { SwarmStats, TrackerStats } from './metrics.ts'
export { NETWORK_REFUSAL } from './policy.ts'

export interface TrackerInit {
  /** Own HTTP listener (default port 8471, all addresses), or false when the caller mounts handleHttp(). */
  http?: { host?: string; port?: number } | false
  /** UDP (BEP 15) listener, or false. Defaults to the HTTP host and port number. */
  udp?: { host?: string; port?: number } | false
  /** WebSocket announces (WebTorrent in browsers); default false. */
  ws?: boolean
  /** Info hashes served; undefined = open tracker. */
  allow?: AllowList
  /**
   * Answer only sources in these networks (CIDR, like "10.0.0.0/8"): announces and scrapes
   * (HTTP, UDP) from elsewhere get a failure reason, /stats and /metrics a 403
   * IMGSWARM_ERR_NETWORK_NOT_ALLOWED, WebSocket upgrades the same 403. Undefined: from
   * anywhere. Bad entries throw IMGSWARM_ERR_NETWORK_LIST.
   */
  networks?: readonly string[] | undefined
  /** Per-swarm peer cap; default 100_000 (the library's 1000 silently evicts). */
  peersCacheLength?: number
  /** Announce interval told to clients; default 30 s (the library's 10 min is wrong for installs). */
  announceIntervalSec?: number
  /** Cap on numwant; default 200. UDP replies never exceed 82 peers (512-byte datagrams). */
  maxNumwant?: number
  /** failure reason for an info hash not in `allow`; say what to do. */
  refusalMessage?: string
  logger?: Logger
}

export interface Tracker {
  start(): Promise<void>
  /** Graceful and idempotent. */
  stop(): Promise<void>
  /** Node http handler for GET /announce, /scrape, /stats (JSON), /metrics (Prometheus). Returns false if the path is not the tracker's. */
  handleHttp(req: IncomingMessage, res: ServerResponse): boolean
  /** For a mounting server's 'upgrade' event when ws is on (paths / and /announce). False: not ours, not handled. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean
  stats(): TrackerStats
  /** Prometheus text exposition. */
  metrics(): string
  /** After start(), when it listens itself. */
  readonly httpPort: number | undefined
  readonly udpPort: number | undefined
}

export function createTracker(init: TrackerInit = {}): Tracker {
  return createTrackerImpl(init)
}
