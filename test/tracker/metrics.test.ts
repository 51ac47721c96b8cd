// /metrics is valid Prometheus text and agrees with /stats.
import { describe, expect, it } from 'vitest'
import { setAllowList } from '../../tracker/index.ts'
import { announce, get, hash, startTracker } from './helpers.ts'

const A = hash(0x0a)
const B = hash(0x0b)
const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*'
const LABEL = '[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\.)*"'
const SAMPLE = new RegExp(`^(${NAME})(?:\\{(${LABEL}(?:,${LABEL})*)?\\})? (-?[0-9.e+]+|NaN|[+-]Inf)$`)

interface Sample {
  name: string
  labels: Record<string, string>
  value: number
}

function parseExposition(text: string): Sample[] {
  expect(text.endsWith('\n')).toBe(true)
  const samples: Sample[] = []
  for (const line of text.slice(0, -1).split('\n')) {
    if (/^# (HELP|TYPE) /.test(line)) continue
    const m = SAMPLE.exec(line)
    if (!m) throw new Error(`not a Prometheus sample line: ${JSON.stringify(line)}`)
    const labels: Record<string, string> = {}
    for (const [, k, v] of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="([^"]*)"/g))
      labels[k as string] = v as string
    samples.push({ name: m[1] as string, labels, value: Number(m[3]) })
  }
  return samples
}

describe('/metrics', () => {
  it('parses as Prometheus text and its counts match the swarms', async () => {
    const t = await startTracker({ allow: setAllowList([A, B]) })
    const port = t.httpPort as number
    for (let i = 0; i < 3; i++) await announce(port, { infoHash: A, peer: i, port: 5000 + i })
    await announce(port, { infoHash: A, peer: 9, port: 5009, left: 0 })
    await announce(port, { infoHash: A, peer: 0, port: 5000 }) // a re-announce counts, adds no peer
    await announce(port, { infoHash: B, peer: 1, port: 5101, left: 0 })
    await announce(port, { infoHash: hash(0x0c), peer: 1, port: 5201 }) // refused

    const r = await get(port, '/metrics')
    expect(r.type).toMatch(/^text\/plain/)
    const samples = parseExposition(r.body.toString())
    const value = (name: string, labels: Record<string, string> = {}) =>
      samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value

    expect(value('imgswarm_tracker_torrents')).toBe(2)
    expect(value('imgswarm_tracker_peers', { info_hash: A, state: 'leecher' })).toBe(3)
    expect(value('imgswarm_tracker_peers', { info_hash: A, state: 'seeder' })).toBe(1)
    expect(value('imgswarm_tracker_peers', { info_hash: B, state: 'seeder' })).toBe(1)
    expect(value('imgswarm_tracker_announces_total', { info_hash: A })).toBe(5)
    expect(value('imgswarm_tracker_announces_total', { info_hash: B })).toBe(1)
    expect(value('imgswarm_tracker_refused_total')).toBe(1)
    expect(value('process_resident_memory_bytes')).toBeGreaterThan(0)
    expect(value('nodejs_heap_size_total_bytes')).toBeGreaterThanOrEqual(value('nodejs_heap_size_used_bytes') as number)
    expect(value('nodejs_external_memory_bytes')).toBeGreaterThan(0)

    const stats = JSON.parse((await get(port, '/stats')).body.toString())
    expect(stats).toMatchObject({ torrents: 2, peers: 5, seeders: 2, leechers: 3, announces: 6 })
    expect(t.metrics()).toContain(`imgswarm_tracker_announces_total{info_hash="${A}"} 5`)
  })
})
