// Turns runs into the table people read and the JSON machines keep.
import type { Compression, SideResult } from './sides.ts'

/** The issue's targets: time relative to the baseline (uncompressed) and an absolute RSS ceiling. */
export const TARGET_RATIO = 1.3
export const TARGET_RSS_MB = 200

export interface RunPair {
  run: number
  first: 'ours' | 'baseline'
  /** Missing with --baseline-only. */
  ours: SideResult | undefined
  baseline: SideResult
}

export interface ModeSummary {
  compression: Compression
  /** Piece size of both torrents, taken from our pack's output. */
  pieceLength: number
  runs: RunPair[]
  median: { oursWall: number; baselineWall: number; oursCpu: number; baselineCpu: number }
  /** Median of ours over median of the baseline. */
  ratio: number
  /** Highest peak RSS of ours over all runs: the ceiling is "whatever the tree", so the worst run counts. */
  oursPeakRssMB: number
  baselinePeakRssMB: number
  /** Undefined when there is no target for this mode (compressed), or ours did not run. */
  timePass: boolean | undefined
  rssPass: boolean | undefined
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const mid = s.length >> 1
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2
}

const mb = (bytes: number) => bytes / 1e6
const rssMB = (kib: number) => (kib * 1024) / 1e6
const cpu = (r: SideResult) => r.user + r.sys

export function summarize(compression: Compression, pieceLength: number, runs: RunPair[]): ModeSummary {
  const ours = runs.flatMap((r) => (r.ours ? [r.ours] : []))
  const measured = ours.length > 0
  const m = {
    oursWall: measured ? median(ours.map((r) => r.wall)) : Number.NaN,
    baselineWall: median(runs.map((r) => r.baseline.wall)),
    oursCpu: measured ? median(ours.map(cpu)) : Number.NaN,
    baselineCpu: median(runs.map((r) => cpu(r.baseline))),
  }
  const ratio = m.oursWall / m.baselineWall
  const oursPeakRssMB = measured ? Math.max(...ours.map((r) => rssMB(r.rssKiB))) : Number.NaN
  return {
    compression,
    pieceLength,
    runs,
    median: m,
    ratio,
    oursPeakRssMB,
    baselinePeakRssMB: Math.max(...runs.map((r) => rssMB(r.baseline.rssKiB))),
    timePass: compression === 'none' && measured ? ratio <= TARGET_RATIO : undefined,
    rssPass: measured ? oursPeakRssMB < TARGET_RSS_MB : undefined,
  }
}

const int = (n: number) => (Number.isNaN(n) ? '-' : Math.round(n).toLocaleString('en-US'))
const fixed = (n: number, d = 2) => (Number.isNaN(n) ? '-' : n.toFixed(d))
const verdict = (ok: boolean | undefined) => (ok === undefined ? 'n/a' : ok ? 'PASS' : 'MISS')

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? []
  return rows
    .map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('   '))
    .join('\n')
}

export function formatRuns(s: ModeSummary): string {
  const side = (name: string, r: SideResult | undefined) =>
    r === undefined
      ? `${name} not run`
      : `${name} ${r.wall.toFixed(2)} s (cpu ${cpu(r).toFixed(2)} s, rss ${rssMB(r.rssKiB).toFixed(0)} MB, out ${int(mb(r.outputBytes))} MB)`
  return s.runs
    .map((r) => `  run ${r.run} (${r.first} first): ${side('ours', r.ours)} | ${side('baseline', r.baseline)}`)
    .join('\n')
}

/** `sha` names the baseline's SHA-256 step (sha256sum or openssl). */
export function formatTable(s: ModeSummary, sha: string): string {
  const last = s.runs[s.runs.length - 1]
  const zstd = s.compression === 'zstd'
  const baseName = `${zstd ? 'tar|zstd -T1 -3' : 'tar'}, mktorrent, ${sha}`
  const rows = [
    [zstd ? 'compressed (zstd -3)' : 'uncompressed', 'time (s)', 'CPU (s)', 'peak RSS (MB)', 'output (MB)'],
    [
      `imgswarm pack${zstd ? ' --compress zstd' : ''}`,
      fixed(s.median.oursWall),
      fixed(s.median.oursCpu),
      int(s.oursPeakRssMB),
      last?.ours ? int(mb(last.ours.outputBytes)) : '-',
    ],
    [
      baseName,
      s.median.baselineWall.toFixed(2),
      s.median.baselineCpu.toFixed(2),
      int(s.baselinePeakRssMB),
      last ? int(mb(last.baseline.outputBytes)) : '-',
    ],
  ]
  const ratioLine =
    `ratio (ours/baseline)`.padEnd(rows[2]?.[0]?.length ?? 0) +
    `   ${Number.isNaN(s.ratio) ? '-' : `${s.ratio.toFixed(2)}x`}   ` +
    (zstd ? '(no time target when compressed)' : `target <= ${TARGET_RATIO.toFixed(2)}x   ${verdict(s.timePass)}`)
  const rssLine = `peak RSS of ours, worst run: ${fixed(s.oursPeakRssMB, 0)} MB   target < ${TARGET_RSS_MB} MB   ${verdict(s.rssPass)}`
  return `${table(rows)}\n${ratioLine}\n${rssLine}`
}
