// The one table: per fleet size, every method's last/p50/p90 node time, its
// ratio to the bound, ours against it, and the server's upload in image
// copies; then the issue's targets, reported (not asserted).
import { median, peerBound, type Rates, unicastBound } from './bound.ts'
import type { MethodResult } from './method.ts'

export interface FleetResult {
  nodes: number
  rates: Rates
  /** Every run of every method, in run order. */
  runs: MethodResult[]
}

export interface Row {
  method: MethodResult['method']
  runs: number
  last: number
  p50: number
  p90: number
  copies: number
  failed: number
  killed: number
  cpu: number | undefined
  note: string | undefined
}

export function rows(f: FleetResult): Row[] {
  const order: MethodResult['method'][] = [
    'imgswarm',
    'imgswarm fault',
    'imgswarm fetch',
    'unicast',
    'multicast',
    'aria2c',
  ]
  return order.flatMap((m) => {
    const rs = f.runs.filter((r) => r.method === m)
    if (rs.length === 0) return []
    return [
      {
        method: m,
        runs: rs.length,
        last: median(rs.map((r) => r.last)),
        p50: median(rs.map((r) => r.p50)),
        p90: median(rs.map((r) => r.p90)),
        copies: median(rs.map((r) => r.serverTx)) / f.rates.bytes,
        failed: Math.max(...rs.map((r) => r.failed.length)),
        killed: Math.max(...rs.map((r) => r.killed)),
        cpu: rs.every((r) => r.cpuP50 !== undefined) ? median(rs.map((r) => r.cpuP50 as number)) : undefined,
        note: rs.at(-1)?.note,
      },
    ]
  })
}

const num = (v: number, w: number, d = 1) => (Number.isFinite(v) ? v.toFixed(d) : '-').padStart(w)
const x = (v: number, w: number) => (Number.isFinite(v) ? `${v.toFixed(2)}x` : '-').padStart(w)

export function formatFleet(f: FleetResult): string {
  const bound = peerBound(f.rates)
  const uni = unicastBound(f.rates)
  const rs = rows(f)
  const ours = rs.find((r) => r.method === 'imgswarm')
  const head = `N=${f.nodes}: bound T* ${bound.toFixed(1)} s, unicast minimum ${uni.toFixed(1)} s`
  const cols = `  ${'method'.padEnd(15)}${'last s'.padStart(8)}${'p50 s'.padStart(8)}${'p90 s'.padStart(8)}${'/bound'.padStart(8)}${'ours/it'.padStart(9)}${'srv copies'.padStart(11)}  notes`
  const lines = rs.map((r) => {
    const notes = [
      r.failed ? `${r.failed} node(s) FAILED` : '',
      r.killed ? `${r.killed} killed at 50%` : '',
      r.runs > 1 ? `median of ${r.runs}` : '',
      r.cpu === undefined ? '' : `CPU per node p50 ${r.cpu.toFixed(1)} s`,
      r.note ?? '',
    ].filter(Boolean)
    const vs = ours && !r.method.startsWith('imgswarm') ? ours.last / r.last : Number.NaN
    return `  ${r.method.padEnd(15)}${num(r.last, 8)}${num(r.p50, 8)}${num(r.p90, 8)}${x(r.last / bound, 8)}${x(vs, 9)}${num(r.copies, 11, 2)}  ${notes.join('; ')}`
  })
  return [head, cols, ...lines].join('\n')
}

/** The issue's targets, each PASS, MISS or "not run". */
export function formatTargets(fleets: FleetResult[]): string {
  const out: string[] = ['targets (reported, not asserted):']
  const mark = (ok: boolean | undefined) => (ok === undefined ? 'not run' : ok ? 'PASS' : 'MISS')
  const get = (f: FleetResult, m: Row['method']) => rows(f).find((r) => r.method === m)
  const f24 = fleets.find((f) => f.nodes === 24)
  const o24 = f24 && get(f24, 'imgswarm')
  const r24 = f24 && o24 ? o24.last / peerBound(f24.rates) : undefined
  out.push(
    `  N=24, last node within 1.3x of the bound: ${mark(r24 === undefined ? undefined : r24 <= 1.3)}${r24 ? ` (${r24.toFixed(2)}x)` : ''}`,
  )
  for (const base of ['multicast', 'aria2c'] as const) {
    const checks = fleets
      .filter((f) => f.nodes >= 8)
      .flatMap((f) => {
        const o = get(f, 'imgswarm')
        const b = get(f, base)
        return o && b ? [{ n: f.nodes, ok: o.last < b.last, r: o.last / b.last }] : []
      })
    const ok = checks.length ? checks.every((c) => c.ok) : undefined
    const detail = checks.map((c) => `N=${c.n} ${c.r.toFixed(2)}x`).join(', ')
    out.push(`  faster than ${base} from N=8 up: ${mark(ok)}${detail ? ` (ours/${base}: ${detail})` : ''}`)
  }
  const copies = fleets.flatMap((f) => {
    const o = get(f, 'imgswarm')
    return o ? [{ n: f.nodes, c: o.copies }] : []
  })
  const okCopies = copies.length ? copies.every((c) => c.c < 3) : undefined
  out.push(
    `  server uploads < 3 image copies for any N: ${mark(okCopies)}${copies.length ? ` (${copies.map((c) => `N=${c.n} ${c.c.toFixed(2)}`).join(', ')})` : ''}`,
  )
  const faults = fleets.flatMap((f) => {
    const r = get(f, 'imgswarm fault')
    return r ? [`N=${f.nodes}: ${r.killed} killed, ${r.failed} failed, last survivor ${r.last.toFixed(1)} s`] : []
  })
  if (faults.length) out.push(`  fault run (25% SIGKILLed at 50%; the others must finish): ${faults.join('; ')}`)
  return out.join('\n')
}
