// Standard 5-field cron expressions (minute hour day-of-month month
// day-of-week) with ranges, steps, lists and month/day names. We check the
// grammar ourselves, so that a person gets one clear message naming the
// field, and let croner compute the next run: it does time zones and
// daylight-saving gaps correctly, which a hand-written "next" rarely does.
// Like Vixie cron, when both day fields are restricted a day matching
// either one runs.
import { Cron } from 'croner'
import { errors } from '../../common/errors.ts'

const FIELDS = [
  { name: 'minute', min: 0, max: 59, names: [] as string[] },
  { name: 'hour', min: 0, max: 23, names: [] as string[] },
  { name: 'day-of-month', min: 1, max: 31, names: [] as string[] },
  {
    name: 'month',
    min: 1,
    max: 12,
    names: ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'],
  },
  // 7 is Sunday too, as in Vixie cron.
  { name: 'day-of-week', min: 0, max: 7, names: ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] },
] as const

export const MAX_CRON_LENGTH = 256

export interface CronField {
  name: string
  min: number
  max: number
}

function value(expr: string, f: (typeof FIELDS)[number], tok: string): number {
  const lower = tok.toLowerCase()
  const named = (f.names as readonly string[]).indexOf(lower)
  if (named >= 0) return named + (f.name === 'month' ? 1 : 0)
  if (!/^[0-9]{1,2}$/.test(tok)) throw errors.cron(expr, `${f.name}: ${JSON.stringify(tok)} is not a number or name`)
  const n = Number(tok)
  if (n < f.min || n > f.max) throw errors.cron(expr, `${f.name}: ${n} is outside ${f.min}-${f.max}`)
  return n
}

function checkPart(expr: string, f: (typeof FIELDS)[number], part: string): void {
  const [range, step, extra] = part.split('/')
  if (extra !== undefined || range === undefined || range === '')
    throw errors.cron(expr, `${f.name}: ${JSON.stringify(part)} is not a value, range or step`)
  if (step !== undefined) {
    if (!/^[0-9]{1,2}$/.test(step) || Number(step) === 0 || Number(step) > f.max)
      throw errors.cron(expr, `${f.name}: step ${JSON.stringify(step)} must be 1-${f.max}`)
  }
  if (range === '*') return
  const [a, b, more] = range.split('-')
  if (more !== undefined || a === undefined || a === '')
    throw errors.cron(expr, `${f.name}: ${JSON.stringify(range)} is not a value or range`)
  const lo = value(expr, f, a)
  if (b === undefined) {
    if (step !== undefined) throw errors.cron(expr, `${f.name}: a step needs * or a range before it (${part})`)
    return
  }
  const hi = value(expr, f, b)
  if (hi < lo) throw errors.cron(expr, `${f.name}: range ${range} runs backwards`)
}

/** Checks the expression; returns it with single spaces. Throws IMGSWARM_ERR_CRON with the field at fault. */
export function checkCron(expr: string): string {
  if (typeof expr !== 'string' || expr.length > MAX_CRON_LENGTH)
    throw errors.cron(String(expr).slice(0, 40), `at most ${MAX_CRON_LENGTH} characters`)
  const parts = expr.trim().split(/\s+/)
  if (parts.length !== 5 || parts[0] === '')
    throw errors.cron(expr, `${parts[0] === '' ? 0 : parts.length} fields, expected 5`)
  parts.forEach((p, i) => {
    const f = FIELDS[i] as (typeof FIELDS)[number]
    for (const item of p.split(',')) checkPart(expr, f, item)
  })
  return parts.join(' ')
}

/** Checks an IANA time zone name (undefined: the server's local zone). */
export function checkTimezone(tz: string | undefined): string | undefined {
  if (tz === undefined) return undefined
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz })
  } catch {
    throw errors.timezone(tz)
  }
  return tz
}

/** A checked expression that tells its runs. */
export interface CronSchedule {
  readonly expr: string
  readonly timezone: string | undefined
  /** The first run strictly after `after`, or undefined if there is none (e.g. 30 February). */
  next(after: Date): Date | undefined
}

export function parseCron(expr: string, timezone?: string): CronSchedule {
  const clean = checkCron(expr)
  const tz = checkTimezone(timezone)
  let cron: Cron
  try {
    // Vixie cron: a day field that starts with * does not restrict, so the
    // other one alone decides (AND); two restricted day fields are ORed.
    const [, , dom, , dow] = clean.split(' ') as [string, string, string, string, string]
    const domAndDow = dom.startsWith('*') || dow.startsWith('*')
    cron = new Cron(clean, { paused: true, mode: '5-part', domAndDow, ...(tz === undefined ? {} : { timezone: tz }) })
  } catch (e) {
    throw errors.cron(expr, (e as Error).message)
  }
  return {
    expr: clean,
    timezone: tz,
    next(after) {
      return cron.nextRun(after) ?? undefined
    },
  }
}
