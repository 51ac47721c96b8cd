// The demo's closing numbers: time, who served the bytes, what unicast from
// the server would have needed at the same rates, and the node checks.
import { formatBytes } from '../../common/progress.ts'
import type { NodeCheck } from './verify.ts'

export interface SummaryInput {
  mode: 'fleet' | 'loopback'
  nodes: number
  imageBytes: number
  /** Seconds from the start of the nodes until each was installed (undefined: never). */
  installedAt: (number | undefined)[]
  /** Bytes per second: the server's cap, and the node links' (undefined on loopback). */
  serverRate: number
  nodeRate: number | undefined
  seederUploaded: number
  checks: NodeCheck[]
  checked: string
}

export interface DemoSummary {
  mode: 'fleet' | 'loopback'
  nodes: number
  imageBytes: number
  wallSeconds: number | null
  firstSeconds: number | null
  medianSeconds: number | null
  /** Bytes the server sent: first seeder plus web seed. */
  serverBytes: number
  seederBytes: number
  webseedBytes: number
  /** Bytes the nodes got from each other. */
  peerBytes: number
  nodesDownloaded: number
  nodesUploaded: number
  /** N·F/u_s. */
  unicastSeconds: number
  /** Kumar & Ross: max(F/u_s, F/d_min, N·F/(u_s + Σu_i)); null on loopback (no node rate). */
  boundSeconds: number | null
  verified: number
  /** What was checked on every node. */
  checked: string
  failed: { node: string; problems: string[] }[]
}

export function summarize(i: SummaryInput): DemoSummary {
  const stats = i.checks.map((c) => c.summary?.image_stats)
  const sum = (f: (s: NonNullable<(typeof stats)[number]>) => number) => stats.reduce((a, s) => a + (s ? f(s) : 0), 0)
  const down = sum((s) => s.bytesDown)
  const webseed = sum((s) => s.bytesFromWebseed)
  const server = i.seederUploaded + webseed
  const done = i.installedAt.filter((t): t is number => t !== undefined).sort((a, b) => a - b)
  const all = done.length === i.nodes
  const F = i.imageBytes
  const N = i.nodes
  return {
    mode: i.mode,
    nodes: N,
    imageBytes: F,
    wallSeconds: all ? (done[done.length - 1] ?? null) : null,
    firstSeconds: done[0] ?? null,
    medianSeconds: done[Math.floor((done.length - 1) / 2)] ?? null,
    serverBytes: server,
    seederBytes: i.seederUploaded,
    webseedBytes: webseed,
    peerBytes: Math.max(0, down - server),
    nodesDownloaded: down,
    nodesUploaded: sum((s) => s.bytesUp),
    unicastSeconds: (N * F) / i.serverRate,
    boundSeconds:
      i.nodeRate === undefined
        ? null
        : Math.max(F / i.serverRate, F / i.nodeRate, (N * F) / (i.serverRate + N * i.nodeRate)),
    verified: i.checks.filter((c) => c.ok).length,
    checked: i.checked,
    failed: i.checks.filter((c) => !c.ok).map((c) => ({ node: c.name, problems: c.problems })),
  }
}

const secs = (s: number | null) => (s === null ? 'n/a' : `${s.toFixed(1)} s`)
const pct = (part: number, whole: number) => (whole > 0 ? `${Math.round((100 * part) / whole)}%` : '0%')

export function formatSummary(s: DemoSummary, rates: string): string[] {
  const copies = (s.serverBytes / Math.max(1, s.imageBytes)).toFixed(1)
  const out = [
    '',
    `imgswarm demo: ${s.nodes} node(s) reimaged with sample@1 (${formatBytes(s.imageBytes)}), ${rates}`,
    s.wallSeconds === null
      ? '  wall time            n/a: not every node finished'
      : `  wall time            ${secs(s.wallSeconds)} until the last node was installed and verified` +
        ` (first ${secs(s.firstSeconds)}, median ${secs(s.medianSeconds)})`,
    `  served by the server ${formatBytes(s.serverBytes).padEnd(9)} ${copies} image copies ` +
      `(first seeder ${formatBytes(s.seederBytes)}, web seed ${formatBytes(s.webseedBytes)}); ` +
      `${pct(s.serverBytes, s.nodesDownloaded)} of ${formatBytes(s.nodesDownloaded)} downloaded`,
    `  served by peers      ${formatBytes(s.peerBytes).padEnd(9)} ${pct(s.peerBytes, s.nodesDownloaded)} ` +
      `(the nodes counted ${formatBytes(s.nodesUploaded)} uploaded to each other)`,
    `  unicast would need   ${secs(s.unicastSeconds)}: N·F/u_s = ${s.nodes} × ${formatBytes(s.imageBytes)} ` +
      `at the server's rate` +
      (s.wallSeconds !== null && s.wallSeconds > 0
        ? `, ${(s.unicastSeconds / s.wallSeconds).toFixed(1)}x the swarm's time`
        : ''),
  ]
  if (s.boundSeconds !== null) {
    out.push(
      `  lower bound          ${secs(s.boundSeconds)}: max(F/u_s, F/d, N·F/(u_s + N·u)) for peer-assisted ` +
        'distribution (Kumar & Ross 2006)',
    )
  }
  if (s.failed.length === 0) out.push(`  verified             ${s.verified}/${s.nodes} nodes: ${s.checked}`)
  else {
    out.push(`  verified             ${s.verified}/${s.nodes} nodes; FAILED:`)
    for (const f of s.failed) out.push(`    ${f.node}: ${f.problems.join('; ')}`)
  }
  return out
}
