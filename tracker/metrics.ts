// What the tracker counts and how it shows it: /stats as JSON for people and
// the dashboard, /metrics in the Prometheus text format for monitoring.
import type { TrackerSwarm } from 'bittorrent-tracker'

export interface SwarmStats {
  infoHash: string
  seeders: number
  leechers: number
  announces: number
}

export interface TrackerStats {
  torrents: number
  peers: number
  seeders: number
  leechers: number
  /** Accepted announces since start, all swarms (including ones since forgotten). */
  announces: number
  swarms: SwarmStats[]
}

/** Counters the library does not keep. */
export class Counters {
  readonly announcesBySwarm = new Map<string, number>()
  announces = 0
  refused = 0
  /** Requests (announces, scrapes, /stats, /metrics, WebSocket upgrades) refused: the source is outside the allowed networks. */
  refusedNetwork = 0
  /** Requests the library rejected (malformed) or failed. */
  failed = 0
  readonly udpDropped = new Map<string, number>()

  announce(infoHash: string): void {
    this.announces++
    this.announcesBySwarm.set(infoHash, (this.announcesBySwarm.get(infoHash) ?? 0) + 1)
  }

  drop(reason: string): void {
    this.udpDropped.set(reason, (this.udpDropped.get(reason) ?? 0) + 1)
  }
}

export function collectStats(torrents: Record<string, TrackerSwarm>, counters: Counters): TrackerStats {
  const swarms: SwarmStats[] = []
  let seeders = 0
  let leechers = 0
  for (const [infoHash, swarm] of Object.entries(torrents)) {
    seeders += swarm.complete
    leechers += swarm.incomplete
    swarms.push({
      infoHash,
      seeders: swarm.complete,
      leechers: swarm.incomplete,
      announces: counters.announcesBySwarm.get(infoHash) ?? 0,
    })
  }
  return {
    torrents: swarms.length,
    peers: seeders + leechers,
    seeders,
    leechers,
    announces: counters.announces,
    swarms,
  }
}

function family(lines: string[], name: string, type: 'gauge' | 'counter', help: string): void {
  lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`)
}

/** Prometheus text exposition format 0.0.4. Info hashes are hex, so label values need no escaping. */
export function renderMetrics(stats: TrackerStats, counters: Counters): string {
  const l: string[] = []
  family(l, 'imgswarm_tracker_torrents', 'gauge', 'Swarms the tracker knows.')
  l.push(`imgswarm_tracker_torrents ${stats.torrents}`)
  family(l, 'imgswarm_tracker_peers', 'gauge', 'Peers in each swarm, by state.')
  for (const s of stats.swarms) {
    l.push(`imgswarm_tracker_peers{info_hash="${s.infoHash}",state="seeder"} ${s.seeders}`)
    l.push(`imgswarm_tracker_peers{info_hash="${s.infoHash}",state="leecher"} ${s.leechers}`)
  }
  family(l, 'imgswarm_tracker_announces_total', 'counter', 'Accepted announces per swarm.')
  for (const s of stats.swarms) l.push(`imgswarm_tracker_announces_total{info_hash="${s.infoHash}"} ${s.announces}`)
  family(l, 'imgswarm_tracker_refused_total', 'counter', 'Announces refused because the info hash is not allowed.')
  l.push(`imgswarm_tracker_refused_total ${counters.refused}`)
  family(
    l,
    'imgswarm_tracker_refused_network_total',
    'counter',
    'Requests (announces, scrapes, /stats, /metrics, WebSocket upgrades) refused because the source is outside the allowed networks.',
  )
  l.push(`imgswarm_tracker_refused_network_total ${counters.refusedNetwork}`)
  family(
    l,
    'imgswarm_tracker_failed_requests_total',
    'counter',
    'Requests answered with a failure (malformed or refused).',
  )
  l.push(`imgswarm_tracker_failed_requests_total ${counters.failed}`)
  family(
    l,
    'imgswarm_tracker_udp_dropped_total',
    'counter',
    'UDP packets dropped or answered with an error, by reason.',
  )
  for (const [reason, n] of counters.udpDropped) l.push(`imgswarm_tracker_udp_dropped_total{reason="${reason}"} ${n}`)
  const mem = process.memoryUsage()
  family(l, 'process_resident_memory_bytes', 'gauge', 'Resident memory size in bytes.')
  l.push(`process_resident_memory_bytes ${mem.rss}`)
  family(l, 'nodejs_heap_size_used_bytes', 'gauge', 'V8 heap in use, in bytes.')
  l.push(`nodejs_heap_size_used_bytes ${mem.heapUsed}`)
  // What V8 holds from the system (used or not) and the memory outside it (Buffers): with RSS they tell a leak of
  // live objects from a heap or malloc high-water mark.
  family(l, 'nodejs_heap_size_total_bytes', 'gauge', 'V8 heap committed, in bytes.')
  l.push(`nodejs_heap_size_total_bytes ${mem.heapTotal}`)
  family(l, 'nodejs_external_memory_bytes', 'gauge', 'Memory of C++ objects bound to JS objects (Buffers), in bytes.')
  l.push(`nodejs_external_memory_bytes ${mem.external}`)
  return `${l.join('\n')}\n`
}
