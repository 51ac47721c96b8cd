// Where each key of a TOML document sits (line and column), so a semantic
// error can point at the line a person must change. smol-toml gives values
// only; this scanner walks the same text again in one linear pass. It runs
// only on text that smol-toml has already accepted, so it may be lenient
// about syntax.

/** A key path: table names, keys, and indexes into arrays (of tables or values). */
export type KeyPath = (string | number)[]

export interface Pos {
  line: number
  col: number
}

export interface Positions {
  /** Where the key (or array element, or table header) at this path starts; the nearest enclosing one if unknown. */
  at(path: KeyPath): Pos
}

const SEP = '\u0000'
const keyOf = (path: KeyPath) => path.join(SEP)
/** Elements of one array whose positions are kept; errors in later ones point at the array's key. */
const MAX_ELEMENTS = 200_000

const SPACE = 32
const TAB = 9
const LF = 10
const CR = 13
const HASH = 35

function isBare(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c === 45
}

export function scanPositions(text: string): Positions {
  const found = new Map<string, number>()
  const arrayCounts = new Map<string, number>()
  const len = text.length
  let i = 0

  const record = (key: string, at: number) => {
    if (!found.has(key)) found.set(key, at)
  }
  const skipSpace = () => {
    let c = text.charCodeAt(i)
    while (c === SPACE || c === TAB) c = text.charCodeAt(++i)
  }
  // Spaces, newlines and comments (inside arrays, and between statements).
  const skipAll = () => {
    for (;;) {
      let c = text.charCodeAt(i)
      while (c === SPACE || c === TAB || c === LF || c === CR) c = text.charCodeAt(++i)
      if (c !== HASH) return
      const nl = text.indexOf('\n', i)
      i = nl < 0 ? len : nl
    }
  }
  /** Skips a string at i; returns its text when asked (keys), unescaping the common cases. */
  const quoted = (want: boolean): string => {
    const q = text[i] as string
    const triple = q + q + q
    if (text.startsWith(triple, i)) {
      const end = text.indexOf(triple, i + 3)
      let stop = end < 0 ? len : end + 3
      // A multi-line string may end with up to two more quotes.
      while (stop < len && text[stop] === q) stop++
      const s = want ? text.slice(i + 3, stop - 3) : ''
      i = stop
      return s
    }
    const start = ++i
    for (;;) {
      const c = text.charCodeAt(i)
      if (i >= len || c === LF) break
      if (q === '"' && c === 92) {
        i += 2
        continue
      }
      if (text[i] === q) break
      i++
    }
    const s = want ? text.slice(start, i) : ''
    i++
    return q === '"' && want ? s.replace(/\\(["\\])/g, '$1') : s
  }
  const key = (): string => {
    const parts: string[] = []
    for (;;) {
      skipSpace()
      const c = text[i]
      if (c === '"' || c === "'") parts.push(quoted(true))
      else {
        const start = i
        while (i < len && isBare(text.charCodeAt(i))) i++
        parts.push(text.slice(start, i))
      }
      skipSpace()
      if (text[i] !== '.') return parts.join(SEP)
      i++
    }
  }
  const value = (path: string) => {
    skipSpace()
    const c = text[i]
    if (c === '"' || c === "'") {
      quoted(false)
      return
    }
    if (c === '[') {
      i++
      let n = 0
      for (;;) {
        skipAll()
        if (i >= len || text[i] === ']') {
          i++
          return
        }
        if (text[i] === ',') {
          i++
          continue
        }
        const el = n < MAX_ELEMENTS ? `${path}${SEP}${n}` : path
        if (n < MAX_ELEMENTS) record(el, i)
        value(el)
        n++
      }
    }
    if (c === '{') {
      i++
      for (;;) {
        skipAll()
        if (i >= len || text[i] === '}') {
          i++
          return
        }
        if (text[i] === ',') {
          i++
          continue
        }
        const at = i
        const k = `${path}${SEP}${key()}`
        record(k, at)
        if (text[i] === '=') i++
        value(k)
      }
    }
    // A bare value: number, boolean, date.
    for (;;) {
      const d = text.charCodeAt(i)
      if (i >= len || d === 44 || d === 93 || d === 125 || d === LF || d === CR || d === HASH) return
      i++
    }
  }

  let table = ''
  const join = (a: string, b: string) => (a === '' ? b : `${a}${SEP}${b}`)
  while (i < len) {
    skipAll()
    if (i >= len) break
    const at = i
    if (text.startsWith('[[', i)) {
      i += 2
      const k = key()
      const close = text.indexOf(']]', i)
      i = close < 0 ? len : close + 2
      const n = arrayCounts.get(k) ?? 0
      arrayCounts.set(k, n + 1)
      table = `${k}${SEP}${n}`
      record(table, at)
    } else if (text[i] === '[') {
      i++
      const k = key()
      const close = text.indexOf(']', i)
      i = close < 0 ? len : close + 1
      table = k
      record(table, at)
    } else {
      const k = join(table, key())
      if (text[i] !== '=') {
        // Not a statement we understand: skip the line rather than loop.
        const nl = text.indexOf('\n', i)
        i = nl < 0 ? len : nl
        continue
      }
      i++
      record(k, at)
      value(k)
    }
    // The rest of the line is a comment or nothing.
    skipSpace()
    if (text.charCodeAt(i) === HASH) {
      const nl = text.indexOf('\n', i)
      i = nl < 0 ? len : nl
    }
    if (i === at) i++
  }

  // Line starts are needed only for the few positions asked for.
  let lineStarts: number[] | undefined
  const toPos = (offset: number): Pos => {
    if (!lineStarts) {
      lineStarts = [0]
      for (let j = text.indexOf('\n'); j >= 0; j = text.indexOf('\n', j + 1)) lineStarts.push(j + 1)
    }
    let lo = 0
    let hi = lineStarts.length - 1
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1
      if ((lineStarts[mid] as number) <= offset) lo = mid
      else hi = mid - 1
    }
    return { line: lo + 1, col: offset - (lineStarts[lo] as number) + 1 }
  }
  return {
    at(path: KeyPath): Pos {
      for (let n = path.length; n > 0; n--) {
        const off = found.get(keyOf(path.slice(0, n)))
        if (off !== undefined) return toPos(off)
      }
      return { line: 1, col: 1 }
    },
  }
}
