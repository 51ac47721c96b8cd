// The node table of `imgswarm status`: state, a progress bar, rates, peers
// and ETA, fitted to the terminal width, with a totals line.
import type { FleetSummary, NodeRow, NodeState } from './client.ts'
import { NODE_STATES } from './client.ts'

const COLORS: Record<NodeState, string> = {
  discovered: '90',
  idle: '37',
  'reimage-requested': '33',
  installing: '36',
  done: '32',
  failed: '31',
}

export function fmtBytes(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '-'
  const u = ['B', 'KB', 'MB', 'GB', 'TB', 'PB']
  let v = Math.max(0, n)
  let i = 0
  while (v >= 1000 && i < u.length - 1) {
    v /= 1000
    i++
  }
  return `${v >= 100 || i === 0 ? Math.round(v) : v.toFixed(1)} ${u[i]}`
}

export const fmtRate = (n: number | null | undefined) => (!n ? '0' : `${fmtBytes(n)}/s`)

export function fmtEta(sec: number | null | undefined): string {
  if (sec === null || sec === undefined || !Number.isFinite(sec) || sec < 0) return '-'
  const s = Math.round(sec)
  if (s < 60) return `${s}s`
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`
}

export function bar(percent: number | null, width: number, unicode: boolean): string {
  const p = Math.max(0, Math.min(100, percent ?? 0))
  const full = unicode ? '█' : '#'
  const empty = unicode ? '░' : '.'
  const n = Math.round((p / 100) * width)
  return full.repeat(n) + empty.repeat(width - n)
}

function cell(s: string, w: number): string {
  return s.length > w ? `${s.slice(0, Math.max(0, w - 1))}…` : s.padEnd(w)
}

export interface RenderOpts {
  width: number
  color: boolean
  unicode: boolean
}

function compare(a: NodeRow, b: NodeRow): number {
  return (a.hostname ?? a.id).localeCompare(b.hostname ?? b.id, undefined, { numeric: true })
}

/** The table's lines (no trailing newline). */
export function renderTable(nodes: NodeRow[], fleet: FleetSummary | undefined, o: RenderOpts): string[] {
  const sorted = [...nodes].sort(compare)
  const nameW = Math.min(28, Math.max(4, ...sorted.map((n) => (n.hostname ?? n.id).length)))
  const stateW = 17
  // NODE STATE [BAR PCT] DOWN UP PEERS ETA  — the bar takes what is left (8..30).
  const fixed = nameW + 2 + stateW + 2 + 6 + 2 + 10 + 2 + 10 + 2 + 5 + 2 + 6
  const barW = Math.max(8, Math.min(30, o.width - fixed - 2))
  const showGroup = o.width >= fixed + barW + 2 + 14
  const head = [
    cell('NODE', nameW),
    cell('STATE', stateW),
    cell('PROGRESS', barW + 7),
    'DOWN'.padStart(10),
    'UP'.padStart(10),
    'PEERS'.padStart(5),
    'ETA'.padStart(6),
    ...(showGroup ? [cell('GROUP', 12)] : []),
  ]
  const lines = [head.join('  ').trimEnd()]
  for (const n of sorted) {
    const pct = n.percent === null ? (n.state === 'done' ? '100%' : '') : `${Math.floor(n.percent)}%`
    const state = cell(n.state, stateW)
    const cells = [
      cell(n.hostname ?? n.id, nameW),
      o.color ? `\x1b[${COLORS[n.state] ?? '0'}m${state}\x1b[0m` : state,
      `${bar(n.percent ?? (n.state === 'done' ? 100 : 0), barW, o.unicode)} ${pct.padStart(4)} `,
      fmtRate(n.rateDown).padStart(10),
      fmtRate(n.rateUp).padStart(10),
      String(n.peers ?? 0).padStart(5),
      (n.state === 'installing' ? fmtEta(n.etaSec) : '-').padStart(6),
      ...(showGroup ? [cell(n.group ?? '-', 12)] : []),
    ]
    lines.push(cells.join('  ').trimEnd())
  }
  lines.push(totals(nodes, fleet))
  return lines
}

/** "12 nodes: 3 installing, 9 done · down 1.2 GB/s · up 3.4 GB/s · from server 2 GB, from peers 9 GB (82% peers)" */
export function totals(nodes: NodeRow[], fleet: FleetSummary | undefined): string {
  const counts = new Map<string, number>()
  for (const n of nodes) counts.set(n.state, (counts.get(n.state) ?? 0) + 1)
  const parts = NODE_STATES.filter((s) => counts.has(s)).map((s) => `${counts.get(s)} ${s}`)
  const down = nodes.reduce((a, n) => a + (n.rateDown ?? 0), 0)
  const up = nodes.reduce((a, n) => a + (n.rateUp ?? 0), 0)
  let line = `${nodes.length} node${nodes.length === 1 ? '' : 's'}${parts.length ? `: ${parts.join(', ')}` : ''} · down ${fmtRate(down)} · up ${fmtRate(up)}`
  if (fleet) {
    const all = fleet.bytesFromServer + fleet.bytesFromPeers
    line += ` · from server ${fmtBytes(fleet.bytesFromServer)}, from peers ${fmtBytes(fleet.bytesFromPeers)}`
    if (all > 0) line += ` (${Math.round((100 * fleet.bytesFromPeers) / all)}% peers)`
  }
  return line
}
