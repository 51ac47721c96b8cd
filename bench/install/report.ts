// Turns the runs into the table people read.
import { median } from '../pack/report.ts'
import type { SideResult } from './sides.ts'

/** The targets: wall time relative to the baseline, and an absolute RSS ceiling (4 GB image). */
export const TARGET_RATIO = 1.2
export const TARGET_RSS_MB = 300

export interface RunPair {
  run: number
  first: 'ours' | 'baseline'
  ours: SideResult
  /** Missing with --rss-only. */
  baseline: SideResult | undefined
}

export interface Summary {
  archiveBytes: number
  runs: RunPair[]
  oursWall: number
  baselineWall: number | undefined
  ratio: number | undefined
  /** Worst run: the ceiling holds "whatever the image", so the highest peak counts. */
  oursRssMB: number
  baselineRssMB: number | undefined
  oursCpu: number
  baselineCpu: number | undefined
  oursServerCpu: number
  baselineServerCpu: number | undefined
}

const rssMB = (kib: number) => (kib * 1024) / 1e6
const cpu = (r: SideResult) => r.user + r.sys

export function summarize(archiveBytes: number, runs: RunPair[]): Summary {
  const base = runs.flatMap((r) => (r.baseline ? [r.baseline] : []))
  const oursWall = median(runs.map((r) => r.ours.wall))
  const baselineWall = base.length ? median(base.map((b) => b.wall)) : undefined
  return {
    archiveBytes,
    runs,
    oursWall,
    baselineWall,
    ratio: baselineWall ? oursWall / baselineWall : undefined,
    oursRssMB: Math.max(...runs.map((r) => rssMB(r.ours.rssKiB))),
    baselineRssMB: base.length ? Math.max(...base.map((b) => rssMB(b.rssKiB))) : undefined,
    oursCpu: median(runs.map((r) => cpu(r.ours))),
    baselineCpu: base.length ? median(base.map(cpu)) : undefined,
    oursServerCpu: median(runs.map((r) => r.ours.serverCpu ?? 0)),
    baselineServerCpu: base.length ? median(base.map((b) => b.serverCpu ?? 0)) : undefined,
  }
}

const pass = (ok: boolean) => (ok ? 'PASS' : 'MISS')

export function formatTable(s: Summary): string {
  const gb = s.archiveBytes / 1e9
  const lines = [
    `${''.padEnd(26)}${'wall s'.padStart(8)}${'cpu s'.padStart(8)}${'serve cpu s'.padStart(13)}${'MB/s'.padStart(7)}${'peak RSS MB'.padStart(13)}`,
  ]
  const row = (name: string, wall: number, cpuS: number, serverCpu: number, rss: number) =>
    `${name.padEnd(26)}${wall.toFixed(2).padStart(8)}${cpuS.toFixed(2).padStart(8)}${serverCpu.toFixed(2).padStart(13)}${(s.archiveBytes / 1e6 / wall).toFixed(0).padStart(7)}${rss.toFixed(0).padStart(13)}`
  lines.push(row('ours: imgswarm install', s.oursWall, s.oursCpu, s.oursServerCpu, s.oursRssMB))
  if (s.baselineWall !== undefined && s.baselineCpu !== undefined && s.baselineRssMB !== undefined) {
    lines.push(row('baseline: curl | tar -x', s.baselineWall, s.baselineCpu, s.baselineServerCpu ?? 0, s.baselineRssMB))
  }
  lines.push('')
  if (s.ratio !== undefined) {
    lines.push(
      `time ratio ours/baseline   ${s.ratio.toFixed(2)}   target <= ${TARGET_RATIO}   ${pass(s.ratio <= TARGET_RATIO)}`,
    )
  }
  lines.push(
    `archive                    ${gb.toFixed(2)} GB`,
    `our peak RSS / archive     ${s.oursRssMB.toFixed(0)} MB / ${gb.toFixed(2)} GB = ${((100 * s.oursRssMB * 1e6) / s.archiveBytes).toFixed(1)}%`,
    `our peak RSS               ${s.oursRssMB.toFixed(0)} MB   target < ${TARGET_RSS_MB} MB (for 4 GB)   ${pass(s.oursRssMB < TARGET_RSS_MB)}`,
  )
  return lines.join('\n')
}

/** Median seconds of each of our install steps, in the order they ran. */
export function formatPhases(s: Summary): string {
  const steps = new Map<string, number[]>()
  for (const r of s.runs)
    for (const p of r.ours.phases ?? []) steps.set(p.step, [...(steps.get(p.step) ?? []), p.seconds])
  const parts = [...steps].map(([step, xs]) => `${step} ${median(xs).toFixed(1)}`)
  return `our steps, median s: ${parts.join(', ')}`
}

export function formatRuns(s: Summary): string {
  const mb = (n: number | undefined) => ((n ?? 0) / 1e6).toFixed(0)
  return s.runs
    .map((r) => {
      const o = r.ours
      const b = r.baseline ? `  baseline ${r.baseline.wall.toFixed(2)} s ${rssMB(r.baseline.rssKiB).toFixed(0)} MB` : ''
      return `  run ${r.run} (${r.first} first): ours ${o.wall.toFixed(2)} s ${rssMB(o.rssKiB).toFixed(0)} MB (peers ${mb(o.bytesFromPeers)} MB, web seed ${mb(o.bytesFromWebseed)} MB)${b}`
    })
    .join('\n')
}
