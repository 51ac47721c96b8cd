// The cron parser: examples, errors, and properties against a brute-force
// reference that checks every minute (UTC) with the Vixie cron rules.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { checkCron, parseCron } from '../../seeder/schedule/index.ts'

const RANGES = [
  [0, 59],
  [0, 23],
  [1, 31],
  [1, 12],
  [0, 7],
] as const

/** The set of values one field allows, and whether it starts with '*' (Vixie: such a day field does not restrict). */
function expand(field: string, min: number, max: number): { set: Set<number>; star: boolean } {
  const set = new Set<number>()
  for (const part of field.split(',')) {
    const [range, stepText] = part.split('/') as [string, string | undefined]
    const step = stepText === undefined ? 1 : Number(stepText)
    let lo = min
    let hi = max
    if (range !== '*') {
      const [a, b] = range.split('-')
      lo = Number(a)
      hi = b === undefined ? lo : Number(b)
    }
    for (let v = lo; v <= hi; v += step) set.add(v)
  }
  return { set, star: field.startsWith('*') }
}

type Fields = ReturnType<typeof expand>[]

const compile = (expr: string): Fields => expr.split(' ').map((x, i) => expand(x, ...(RANGES[i] as [number, number])))

function dayMatches(f: Fields, d: Date): boolean {
  const [, , dom, mon, dow] = f as [unknown, unknown, Fields[0], Fields[0], Fields[0]]
  if (!mon.set.has(d.getUTCMonth() + 1)) return false
  const wd = d.getUTCDay()
  const domOk = dom.set.has(d.getUTCDate())
  const dowOk = dow.set.has(wd) || (wd === 0 && dow.set.has(7))
  if (dom.star || dow.star) return domOk && dowOk
  return domOk || dowOk
}

function matches(expr: string, d: Date): boolean {
  const f = compile(expr)
  return !!f[0]?.set.has(d.getUTCMinutes()) && !!f[1]?.set.has(d.getUTCHours()) && dayMatches(f, d)
}

/** The first matching minute after `from`, within `days` days: whole days and hours that do not match are skipped. */
function bruteNext(expr: string, from: Date, days: number): Date | undefined {
  const f = compile(expr)
  const end = from.getTime() + days * 86400_000
  let t = Math.floor(from.getTime() / 60_000) * 60_000 + 60_000
  while (t <= end) {
    const d = new Date(t)
    if (!dayMatches(f, d)) {
      t = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1)
      continue
    }
    if (!f[1]?.set.has(d.getUTCHours())) {
      t = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), d.getUTCHours() + 1)
      continue
    }
    if (f[0]?.set.has(d.getUTCMinutes())) return d
    t += 60_000
  }
  return undefined
}

const field = (min: number, max: number) => {
  const v = fc.integer({ min, max })
  const range = fc.tuple(v, v).map(([a, b]) => (a <= b ? `${a}-${b}` : `${b}-${a}`))
  const step = fc.integer({ min: 1, max: Math.min(max, 20) })
  const item = fc.oneof(
    fc.constant('*'),
    v.map(String),
    range,
    step.map((s) => `*/${s}`),
    fc.tuple(range, step).map(([r, s]) => `${r}/${s}`),
  )
  return fc.array(item, { minLength: 1, maxLength: 3 }).map((a) => a.join(','))
}

const expr = fc.tuple(...RANGES.map(([a, b]) => field(a, b))).map((parts) => parts.join(' '))

const from = fc.date({
  min: new Date('2020-01-01T00:00:00Z'),
  max: new Date('2030-12-31T00:00:00Z'),
  noInvalidDate: true,
})

describe('cron expressions', () => {
  it('computes the examples', () => {
    const at = new Date('2026-12-02T08:00:00Z')
    expect(parseCron('0 3 * * 6', 'UTC').next(at)?.toISOString()).toBe('2026-12-05T03:00:00.000Z')
    expect(parseCron('0 3 * * sat', 'Europe/Paris').next(at)?.toISOString()).toBe('2026-12-05T02:00:00.000Z')
    expect(parseCron('*/15 * * * *', 'UTC').next(at)?.toISOString()).toBe('2026-12-02T08:15:00.000Z')
    expect(parseCron('30 1 1,15 JAN-MAR *', 'UTC').next(at)?.toISOString()).toBe('2027-01-01T01:30:00.000Z')
    expect(parseCron('0 0 * * 7', 'UTC').next(at)?.toISOString()).toBe('2026-12-06T00:00:00.000Z')
    // Summer time starts in Paris on 2027-03-28 at 02:00: 02:30 does not exist that day.
    const spring = parseCron('30 2 * * *', 'Europe/Paris').next(new Date('2027-03-27T12:00:00Z'))
    expect(spring?.toISOString()).not.toBe('2027-03-28T00:30:00.000Z')
    expect(parseCron('0 0 30 2 *', 'UTC').next(at)).toBeUndefined()
    expect(checkCron('  0   3 * *  6 ')).toBe('0 3 * * 6')
  })

  it.each([
    ['0 3 * *', '4 fields, expected 5'],
    ['0 3 * * * *', '6 fields, expected 5'],
    ['', '0 fields'],
    ['60 * * * *', 'minute: 60 is outside 0-59'],
    ['* 24 * * *', 'hour: 24'],
    ['* * 0 * *', 'day-of-month: 0'],
    ['* * * 13 *', 'month: 13'],
    ['* * * * 8', 'day-of-week: 8'],
    ['5-1 * * * *', 'runs backwards'],
    ['*/0 * * * *', 'step'],
    ['5/2 * * * *', 'a step needs'],
    ['1,,2 * * * *', 'not a value'],
    ['* * * foo *', '"foo" is not a number or name'],
    ['@daily', '1 fields'],
    ['0 3 L * *', 'not a number'],
    ['1-2-3 * * * *', 'not a value or range'],
  ])('refuses %j with a message naming the field', (e, msg) => {
    expect(() => parseCron(e)).toThrowError(expect.objectContaining({ code: 'IMGSWARM_ERR_CRON' }))
    expect(() => parseCron(e)).toThrow(msg)
  })

  it('refuses an unknown time zone and an overlong expression', () => {
    expect(() => parseCron('0 3 * * *', 'Mars/Olympus')).toThrowError(
      expect.objectContaining({ code: 'IMGSWARM_ERR_TIMEZONE' }),
    )
    expect(() => parseCron(`${'1,'.repeat(200)}1 * * * *`)).toThrowError(
      expect.objectContaining({ code: 'IMGSWARM_ERR_CRON' }),
    )
  })

  it('property: next() is the first minute after the start that the fields allow (UTC, brute force)', () => {
    fc.assert(
      fc.property(expr, from, (e, f) => {
        const got = parseCron(e, 'UTC').next(f)
        // 400 days of minutes covers every pattern that fires at all within a year (leap days aside).
        const want = bruteNext(e, f, 400)
        if (want === undefined) return got === undefined || got.getTime() - f.getTime() > 399 * 86400_000
        return got?.getTime() === want.getTime()
      }),
      { numRuns: 300 },
    )
  })

  it('property: any text either parses to 5 normalised fields or fails with IMGSWARM_ERR_CRON', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (s) => {
        try {
          const out = checkCron(s)
          return out.split(' ').length === 5
        } catch (e) {
          return (e as { code?: string }).code === 'IMGSWARM_ERR_CRON'
        }
      }),
      { numRuns: 2000 },
    )
  })

  it('property: runs come in order and each matches the expression', () => {
    fc.assert(
      fc.property(expr, from, (e, f) => {
        const c = parseCron(e, 'UTC')
        let t: Date | undefined = f
        for (let i = 0; i < 5; i++) {
          const n = c.next(t as Date)
          if (!n) return true
          if (n <= (t as Date) || !matches(e, n) || n.getUTCSeconds() !== 0) return false
          t = n
        }
        return true
      }),
      { numRuns: 300 },
    )
  })
})
