// Host ranges: `node[001-128]`, `gpu[01-16].farm.example`, `rack[1-4]-n[01-32]`,
// `node[001-004,010]`. Parsed once, counted without expanding (so a hostile
// `n[0-999999999]` is refused at once), expanded lazily in a fixed order.
// docs/cluster-config.md#host-ranges is the contract.
import { normalizeHostname } from '../../common/cmdline.ts'

/** The most names one pattern, or one whole cluster file, may stand for. */
export const MAX_RANGE_HOSTS = 100_000
/** Longest pattern text accepted (a host name is at most 253 characters). */
const MAX_PATTERN = 253
/** Digits in one bound: enough for any real numbering, small enough to stay exact. */
const MAX_DIGITS = 9

interface Span {
  from: number
  to: number
  /** Zero-padded width, or 0 for plain numbers. */
  width: number
}

type Part = string | Span[]

export interface HostPattern {
  /** The text as written. */
  text: string
  parts: Part[]
  /** How many names it stands for. */
  count: number
}

export class HostRangeError extends Error {}

const LITERAL = /^[A-Za-z0-9.-]+$/

function bound(s: string, pattern: string): { n: number; padded: boolean } {
  if (!/^[0-9]+$/.test(s)) throw new HostRangeError(`${pattern}: ${JSON.stringify(s)} is not a number`)
  if (s.length > MAX_DIGITS) throw new HostRangeError(`${pattern}: ${s} has more than ${MAX_DIGITS} digits`)
  return { n: Number(s), padded: s.length > 1 && s.startsWith('0') }
}

function spans(body: string, pattern: string): Span[] {
  if (body === '') throw new HostRangeError(`${pattern}: empty brackets []`)
  const out: Span[] = []
  for (const item of body.split(',')) {
    const dash = item.indexOf('-')
    const a = dash < 0 ? item : item.slice(0, dash)
    const b = dash < 0 ? item : item.slice(dash + 1)
    const lo = bound(a.trim(), pattern)
    const hi = bound(b.trim(), pattern)
    const sa = a.trim()
    const sb = b.trim()
    if ((lo.padded || hi.padded) && sa.length !== sb.length) {
      throw new HostRangeError(
        `${pattern}: mismatched widths in ${item.trim()}: a zero-padded range needs bounds of the same width (write ${sb.length > sa.length ? sa.padStart(sb.length, '0') : sa}-${sb.padStart(sa.length, '0')})`,
      )
    }
    if (lo.n > hi.n) {
      throw new HostRangeError(`${pattern}: range ${item.trim()} runs backwards (write ${sb}-${sa})`)
    }
    out.push({ from: lo.n, to: hi.n, width: lo.padded || hi.padded ? sa.length : 0 })
  }
  const sorted = [...out].sort((x, y) => x.from - y.from)
  for (let i = 1; i < sorted.length; i++) {
    const p = sorted[i - 1] as Span
    const c = sorted[i] as Span
    if (c.from <= p.to) throw new HostRangeError(`${pattern}: [${body}] names ${c.from} twice`)
  }
  return out
}

function spanCount(s: Span[]): number {
  return s.reduce((n, x) => n + (x.to - x.from + 1), 0)
}

/** Parses one member pattern; throws HostRangeError with a message a person can act on. */
export function parseHostPattern(text: string, cap = MAX_RANGE_HOSTS): HostPattern {
  if (typeof text !== 'string' || text.length === 0)
    throw new HostRangeError('a host pattern must be a non-empty string')
  if (text.length > MAX_PATTERN) {
    throw new HostRangeError(`${text.slice(0, 40)}…: longer than ${MAX_PATTERN} characters`)
  }
  const parts: Part[] = []
  let count = 1
  let i = 0
  while (i < text.length) {
    const open = text.indexOf('[', i)
    const close = text.indexOf(']', i)
    if (close >= 0 && (open < 0 || close < open)) throw new HostRangeError(`${text}: "]" without "["`)
    if (open < 0) {
      parts.push(text.slice(i))
      break
    }
    if (open > i) parts.push(text.slice(i, open))
    const end = text.indexOf(']', open)
    if (end < 0) throw new HostRangeError(`${text}: "[" without "]"`)
    const body = text.slice(open + 1, end)
    if (body.includes('[')) throw new HostRangeError(`${text}: brackets cannot nest`)
    const s = spans(body, text)
    parts.push(s)
    count *= spanCount(s)
    if (count > cap) {
      throw new HostRangeError(`${text}: stands for more than ${cap.toLocaleString('en')} hosts (the limit); split it`)
    }
    i = end + 1
  }
  for (const p of parts) {
    if (typeof p === 'string' && !LITERAL.test(p)) {
      throw new HostRangeError(
        `${text}: ${JSON.stringify(p)} has characters a host name cannot have (letters, digits, - and .)`,
      )
    }
  }
  const pattern: HostPattern = { text, parts, count }
  // Only digits vary, so the first name and the one with the longest number
  // in every bracket decide whether all names are valid.
  const longest = parts
    .map((p) =>
      typeof p === 'string'
        ? p
        : p.map((x) => format(x.to, x.width)).reduce((a, b) => (b.length > a.length ? b : a), ''),
    )
    .join('')
    .toLowerCase()
  for (const n of [nameAt(pattern, 0), longest]) {
    if (normalizeHostname(n) === undefined) {
      throw new HostRangeError(`${text}: expands to ${JSON.stringify(n)}, which is not a valid host name (RFC 1123)`)
    }
  }
  return pattern
}

function format(n: number, width: number): string {
  return width === 0 ? String(n) : String(n).padStart(width, '0')
}

function pick(s: Span[], k: number): string {
  let rest = k
  for (const x of s) {
    const len = x.to - x.from + 1
    if (rest < len) return format(x.from + rest, x.width)
    rest -= len
  }
  throw new Error('index past the span')
}

/** The k-th name (0-based) in expansion order. */
function nameAt(p: HostPattern, k: number): string {
  const picks: string[] = []
  let rest = k
  for (let i = p.parts.length - 1; i >= 0; i--) {
    const part = p.parts[i] as Part
    if (typeof part === 'string') {
      picks.push(part)
      continue
    }
    const len = spanCount(part)
    picks.push(pick(part, rest % len))
    rest = Math.floor(rest / len)
  }
  return picks.reverse().join('').toLowerCase()
}

/**
 * Every name, lower-cased, in order: brackets left to right with the first
 * varying slowest (like nested loops); inside brackets, items as written,
 * each range counting up.
 */
export function* expandHostPattern(p: HostPattern): Generator<string> {
  for (let k = 0; k < p.count; k++) yield nameAt(p, k)
}

export function expandHosts(text: string): string[] {
  return [...expandHostPattern(parseHostPattern(text))]
}

/** True when the text has brackets (a range rather than one name). */
export function isRange(text: string): boolean {
  return text.includes('[')
}

/**
 * The other way: a short list of patterns standing for exactly these names
 * (for `cluster show`). Names are grouped by what surrounds their last run
 * of digits and by that run's width.
 */
export function compressHosts(names: Iterable<string>): string[] {
  const groups = new Map<string, { pre: string; post: string; width: number; nums: number[] }>()
  const plain: string[] = []
  const seen = new Set<string>()
  for (const raw of names) {
    const name = raw.toLowerCase()
    if (seen.has(name)) continue
    seen.add(name)
    const m = /^(.*?)([0-9]+)([^0-9]*)$/.exec(name)
    if (!m || (m[2] as string).length > MAX_DIGITS) {
      plain.push(name)
      continue
    }
    const [, pre, digits, post] = m as unknown as [string, string, string, string]
    const key = `${pre}\0${post}\0${digits.length}`
    let g = groups.get(key)
    if (!g) {
      g = { pre, post, width: digits.length, nums: [] }
      groups.set(key, g)
    }
    g.nums.push(Number(digits))
  }
  const out = [...plain]
  for (const g of groups.values()) {
    // Plain numbers of one width never start with 0, so the width holds for all of them.
    const w = g.width
    const nums = [...g.nums].sort((a, b) => a - b)
    if (nums.length === 1) {
      out.push(`${g.pre}${format(nums[0] as number, w)}${g.post}`)
      continue
    }
    const items: string[] = []
    let start = nums[0] as number
    let prev = start
    for (const n of [...nums.slice(1), Number.NaN]) {
      if (n === prev + 1) {
        prev = n
        continue
      }
      items.push(start === prev ? format(start, w) : `${format(start, w)}-${format(prev, w)}`)
      start = n
      prev = n
    }
    out.push(`${g.pre}[${items.join(',')}]${g.post}`)
  }
  return out
}
