// Where each key of a TOML document sits (line and column), so a semantic
// error can point at the line a person must change. smol-toml gives values
// only; this scanner walks the same text again. It runs only on text that
// smol-toml has already accepted, so it may be lenient about syntax.

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

const keyOf = (path: KeyPath) => path.join('\u0000')
const BARE = /[A-Za-z0-9_-]/

export function scanPositions(text: string): Positions {
  const found = new Map<string, number>()
  const arrayCounts = new Map<string, number>()
  const lineStarts = [0]
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) lineStarts.push(i + 1)
  let i = 0

  const record = (path: KeyPath, at: number) => {
    const k = keyOf(path)
    if (!found.has(k)) found.set(k, at)
  }
  const skipSpace = () => {
    while (i < text.length && (text[i] === ' ' || text[i] === '\t')) i++
  }
  // Spaces, newlines and comments (inside arrays, and between statements).
  const skipAll = () => {
    for (;;) {
      while (i < text.length && /[ \t\r\n]/.test(text[i] as string)) i++
      if (text[i] === '#') {
        while (i < text.length && text[i] !== '\n') i++
        continue
      }
      return
    }
  }
  const quoted = (q: string): string => {
    const multi = text.startsWith(q.repeat(3), i)
    if (multi) {
      i += 3
      const end = text.indexOf(q.repeat(3), i)
      let stop = end < 0 ? text.length : end + 3
      // A multi-line string may end with up to two more quotes.
      while (text[stop] === q && stop < text.length) stop++
      const s = text.slice(i, stop - 3)
      i = stop
      return s
    }
    i++
    let s = ''
    while (i < text.length && text[i] !== q && text[i] !== '\n') {
      if (q === '"' && text[i] === '\\') {
        s += text.slice(i, i + 2)
        i += 2
        continue
      }
      s += text[i]
      i++
    }
    i++
    // Keys are compared after unescaping the common cases only; exotic escapes in keys are rare.
    return q === '"' ? s.replace(/\\(["\\])/g, '$1') : s
  }
  const key = (): string[] => {
    const parts: string[] = []
    for (;;) {
      skipSpace()
      const c = text[i]
      if (c === '"' || c === "'") parts.push(quoted(c))
      else {
        const start = i
        while (i < text.length && BARE.test(text[i] as string)) i++
        parts.push(text.slice(start, i))
      }
      skipSpace()
      if (text[i] !== '.') return parts
      i++
    }
  }
  const value = (path: KeyPath) => {
    skipSpace()
    const c = text[i]
    if (c === '"' || c === "'") {
      quoted(c)
      return
    }
    if (c === '[') {
      i++
      let n = 0
      for (;;) {
        skipAll()
        if (i >= text.length || text[i] === ']') {
          i++
          return
        }
        if (text[i] === ',') {
          i++
          continue
        }
        record([...path, n], i)
        value([...path, n])
        n++
      }
    }
    if (c === '{') {
      i++
      for (;;) {
        skipAll()
        if (i >= text.length || text[i] === '}') {
          i++
          return
        }
        if (text[i] === ',') {
          i++
          continue
        }
        const at = i
        const k = key()
        record([...path, ...k], at)
        if (text[i] === '=') i++
        value([...path, ...k])
      }
    }
    while (i < text.length && !/[,\]}\r\n#]/.test(text[i] as string)) i++
  }

  let table: KeyPath = []
  while (i < text.length) {
    skipAll()
    if (i >= text.length) break
    const at = i
    if (text.startsWith('[[', i)) {
      i += 2
      const k = key()
      i = text.indexOf(']]', i) + 2
      const ck = keyOf(k)
      const n = arrayCounts.get(ck) ?? 0
      arrayCounts.set(ck, n + 1)
      table = [...k, n]
      record(table, at)
    } else if (text[i] === '[') {
      i++
      const k = key()
      i = text.indexOf(']', i) + 1
      table = k
      record(table, at)
    } else {
      const k = key()
      if (text[i] !== '=') {
        // Not a statement we understand: skip the line rather than loop.
        while (i < text.length && text[i] !== '\n') i++
        continue
      }
      i++
      record([...table, ...k], at)
      value([...table, ...k])
    }
    // The rest of the line is a comment or nothing.
    skipSpace()
    if (text[i] === '#') while (i < text.length && text[i] !== '\n') i++
    if (i === at) i++
  }

  const toPos = (offset: number): Pos => {
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
