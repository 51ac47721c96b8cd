// The load run's tables: per request kind for serve and the baseline, the
// ratio, the server's memory over time and the event accounting.
import { type DriveResult, KINDS, percentile } from './fleet.ts'

export interface RssSample {
  t: number
  rss: number
  /** V8 heap in use (serve's /metrics), when it answered. */
  heap?: number | undefined
  /** V8 heap committed and external (Buffer) memory, from the same /metrics. */
  heapTotal?: number | undefined
  external?: number | undefined
}

export interface SideFigures {
  name: string
  rows: {
    kind: string
    sent: number
    ok: number
    other: string
    late: number
    perSecond: number
    p50: number
    p99: number
  }[]
  /** All replies, all kinds. */
  total: { perSecond: number; p50: number; p99: number }
}

const OK: Record<string, string> = { announce: '200', plan: '200', event: '202' }

export function figures(name: string, r: DriveResult): SideFigures {
  const rows = KINDS.map((k) => {
    const st = r.kinds[k]
    const ok = st.status[OK[k] as string] ?? 0
    const other = [
      ...Object.entries(st.status).filter(([s]) => s !== OK[k]),
      ...Object.entries(st.errors).map(([c, n]) => [`err ${c}`, n] as const),
    ]
      .map(([s, n]) => `${s}:${n}`)
      .join(' ')
    return {
      kind: k,
      sent: st.sent,
      ok,
      other: other || '-',
      late: st.late,
      perSecond: ok / r.seconds,
      p50: percentile(st.latencies, 50),
      p99: percentile(st.latencies, 99),
    }
  })
  const all = KINDS.flatMap((k) => r.kinds[k].latencies)
  return {
    name,
    rows,
    total: {
      perSecond: rows.reduce((a, x) => a + x.ok, 0) / r.seconds,
      p50: percentile(all, 50),
      p99: percentile(all, 99),
    },
  }
}

const cell = (c: string | number, w: number) => String(c).padEnd(w)
const line = (cs: (string | number)[], ws: number[]) =>
  cs
    .map((c, i) => cell(c, ws[i] ?? 0))
    .join('  ')
    .trimEnd()

export function sideTable(f: SideFigures): string {
  const w = [10, 9, 9, 22, 6, 8, 9, 9]
  const out = [line(['request', 'sent', 'ok', 'other replies', 'late', 'ok/s', 'p50 ms', 'p99 ms'], w)]
  for (const r of f.rows) {
    out.push(
      line([r.kind, r.sent, r.ok, r.other, r.late, r.perSecond.toFixed(1), r.p50.toFixed(2), r.p99.toFixed(2)], w),
    )
  }
  out.push(
    line(['all', '', '', '', '', f.total.perSecond.toFixed(1), f.total.p50.toFixed(2), f.total.p99.toFixed(2)], w),
  )
  return out.join('\n')
}

export function ratioTable(ours: SideFigures, base: SideFigures): string {
  const w = [10, 16, 14, 14]
  const out = [line(['request', 'ok/s ratio', 'p50 ratio', 'p99 ratio'], w)]
  const rows = [...ours.rows.map((r, i) => [r, base.rows[i]] as const), [ours.total, base.total] as const]
  rows.forEach(([o, b], i) => {
    if (!b) return
    const name = i < ours.rows.length ? (ours.rows[i]?.kind ?? '') : 'all'
    out.push(
      line([name, (o.perSecond / b.perSecond).toFixed(3), (o.p50 / b.p50).toFixed(2), (o.p99 / b.p99).toFixed(2)], w),
    )
  })
  return out.join('\n')
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length === 0 ? Number.NaN : (s[s.length >> 1] as number)
}

/**
 * RSS at the start (before load), at the end of warm-up, at the end and its
 * growth since warm-up; and, less at the mercy of one sample, the medians of
 * the minute after warm-up and of the last minute, for RSS and the JS heap.
 */
export function rssFigures(samples: RssSample[], warmupS: number) {
  const start = samples[0]?.rss ?? 0
  const warm = samples.find((s) => s.t >= warmupS)?.rss ?? samples[samples.length - 1]?.rss ?? 0
  const end = samples[samples.length - 1]?.rss ?? 0
  const max = Math.max(...samples.map((s) => s.rss))
  const last = samples[samples.length - 1]?.t ?? 0
  const first = samples.filter((s) => s.t >= warmupS && s.t < warmupS + 60)
  const final = samples.filter((s) => s.t >= last - 60)
  const of = (xs: RssSample[], k: 'heap' | 'heapTotal' | 'external') =>
    xs.flatMap((s) => (s[k] === undefined ? [] : [s[k] as number]))
  const heaps = (xs: RssSample[]) => of(xs, 'heap')
  return {
    start,
    warm,
    end,
    max,
    growthPct: warm > 0 ? ((end - warm) / warm) * 100 : Number.NaN,
    warmMedian: median(first.map((s) => s.rss)),
    endMedian: median(final.map((s) => s.rss)),
    heapWarmMedian: median(heaps(first)),
    heapEndMedian: median(heaps(final)),
    heapTotalWarmMedian: median(of(first, 'heapTotal')),
    heapTotalEndMedian: median(of(final, 'heapTotal')),
    externalWarmMedian: median(of(first, 'external')),
    externalEndMedian: median(of(final, 'external')),
  }
}

export const mb = (b: number) => (b / 1048576).toFixed(1)
