// HTTP Range requests (RFC 9110 §14) for the web seed. One range per
// response: with several ranges we serve the first satisfiable one as a
// plain 206 (allowed by RFC 9110 §14.2; BEP 19 clients ask one at a time).

/** Above this many ranges the header is ignored (a full 200): no one needs it, and parsing it costs. */
const MAX_RANGES = 64

export type RangeResult =
  /** No usable Range header: send the whole file. */
  | { kind: 'full' }
  /** Send bytes start..end inclusive with 206. */
  | { kind: 'partial'; start: number; end: number }
  /** 416 with `Content-Range: bytes *\/size`. */
  | { kind: 'unsatisfiable' }

const SPEC = /^(\d*)-(\d*)$/

export function parseRange(header: string | undefined, size: number): RangeResult {
  if (header === undefined) return { kind: 'full' }
  const eq = header.indexOf('=')
  // Unknown units and malformed headers are ignored, as RFC 9110 says.
  if (eq < 0 || header.slice(0, eq).trim().toLowerCase() !== 'bytes') return { kind: 'full' }
  const specs = header
    .slice(eq + 1)
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
  if (specs.length === 0 || specs.length > MAX_RANGES) return { kind: 'full' }
  const parsed: { start: number; end: number }[] = []
  for (const s of specs) {
    const m = SPEC.exec(s)
    if (!m) return { kind: 'full' }
    const [, a = '', b = ''] = m
    if (a.length > 16 || b.length > 16) return { kind: 'full' }
    if (a === '' && b === '') return { kind: 'full' }
    if (a === '') {
      // Suffix range: the last n bytes.
      const n = Number(b)
      if (n === 0 || size === 0) {
        parsed.push({ start: size, end: size })
        continue
      }
      parsed.push({ start: Math.max(0, size - n), end: size - 1 })
      continue
    }
    const start = Number(a)
    const last = b === '' ? Number.POSITIVE_INFINITY : Number(b)
    // bytes=9-3 is malformed (ignored); bytes=SIZE- is well-formed but unsatisfiable.
    if (last < start) return { kind: 'full' }
    parsed.push({ start, end: Math.min(last, size - 1) })
  }
  const first = parsed.find((r) => r.start < size)
  return first ? { kind: 'partial', ...first } : { kind: 'unsatisfiable' }
}

/**
 * If-Range (RFC 9110 §13.1.5): the range applies only if the validator still
 * matches: the strong ETag exactly, or the exact Last-Modified date.
 */
export function ifRangeMatches(ifRange: string | undefined, etag: string, lastModified: Date): boolean {
  if (ifRange === undefined) return true
  const v = ifRange.trim()
  if (v.startsWith('"') || v.startsWith('W/')) return v === etag
  const t = Date.parse(v)
  return !Number.isNaN(t) && Math.floor(t / 1000) === Math.floor(lastModified.getTime() / 1000)
}
