// GET /api/v1/swarms: per packed version, seeders and leechers from the
// tracker, and the piece-availability spread the first seeder sees (how
// many of its connected peers have each piece), summarised.

export interface SwarmRow {
  kind: string
  name: string
  version: string
  infoHash: string
  pieces: number
  seeders: number
  leechers: number
  availability: { min: number; max: number; mean: number; histogram: number[] }
}

export interface SwarmSources {
  /** The tracker's per-swarm counts. */
  trackerSwarms(): { infoHash: string; seeders: number; leechers: number }[]
  /** What the first seeder seeds. */
  seeded(): { kind: string; ref: string; infoHash: string }[]
  /** Per piece (all of the torrent's pieces), how many connected peers have it; undefined when the torrent is not loaded. */
  availability(infoHash: string): number[] | undefined
}

/** Histogram buckets: bucket i counts the pieces held by i peers; the last bucket holds "this many or more". */
export const HISTOGRAM_BUCKETS = 16

export function summarise(counts: number[] | undefined): SwarmRow['availability'] {
  if (!counts || counts.length === 0) return { min: 0, max: 0, mean: 0, histogram: [] }
  let min = Number.POSITIVE_INFINITY
  let max = 0
  let sum = 0
  const histogram = new Array<number>(HISTOGRAM_BUCKETS).fill(0)
  for (const c of counts) {
    if (c < min) min = c
    if (c > max) max = c
    sum += c
    const b = Math.min(c, HISTOGRAM_BUCKETS - 1)
    histogram[b] = (histogram[b] ?? 0) + 1
  }
  return { min, max, mean: Math.round((sum / counts.length) * 100) / 100, histogram: histogram.slice(0, max + 1) }
}

export function swarmRows(src: SwarmSources): SwarmRow[] {
  const tracked = new Map(src.trackerSwarms().map((s) => [s.infoHash, s]))
  return src.seeded().map((s) => {
    const at = s.ref.lastIndexOf('@')
    const t = tracked.get(s.infoHash)
    const counts = src.availability(s.infoHash)
    return {
      kind: s.kind,
      name: s.ref.slice(0, at),
      version: s.ref.slice(at + 1),
      infoHash: s.infoHash,
      pieces: counts?.length ?? 0,
      seeders: t?.seeders ?? 0,
      leechers: t?.leechers ?? 0,
      availability: summarise(counts),
    }
  })
}
