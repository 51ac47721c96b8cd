// Input builders shared by the parser campaigns: edits of a valid sample
// (byte flips, inserted tokens, deleted or repeated spans, swapped lines) so
// that most inputs stay close enough to valid to reach the deep checks.
import fc from 'fast-check'

/** Values that break parsers: edge numbers, quotes, separators, control and odd Unicode. */
export const NASTY = [
  '',
  ' ',
  '0',
  '-0',
  '-1',
  '1e309',
  '9007199254740993',
  '18446744073709551616',
  '0x10',
  'NaN',
  'Infinity',
  'null',
  'true',
  '[]',
  '{}',
  '"',
  "'",
  '\\',
  '=',
  ',',
  '#',
  '[',
  ']',
  '[[',
  '\n',
  '\r\n',
  '\t',
  '\0',
  '\u0085',
  '\u2028',
  '\ufeff',
  '\ud800',
  'é',
  '../',
  '/',
  '%00',
  '__proto__',
  'constructor',
  'x'.repeat(300),
]

export type Edit =
  | { op: 'flip'; at: number; byte: number }
  | { op: 'insert'; at: number; text: string }
  | { op: 'delete'; at: number; n: number }
  | { op: 'repeat'; at: number; n: number; times: number }
  | { op: 'swap'; a: number; b: number }

export function editArb(tokens: readonly string[]): fc.Arbitrary<Edit> {
  const text = fc.oneof(
    { arbitrary: fc.constantFrom(...tokens, ...NASTY), weight: 4 },
    { arbitrary: fc.string({ maxLength: 16, unit: 'binary' }), weight: 1 },
  )
  return fc.oneof(
    fc.record({ op: fc.constant('flip' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
    fc.record({ op: fc.constant('insert' as const), at: fc.nat(), text }),
    fc.record({ op: fc.constant('delete' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 40 }) }),
    fc.record({
      op: fc.constant('repeat' as const),
      at: fc.nat(),
      n: fc.integer({ min: 1, max: 80 }),
      times: fc.integer({ min: 2, max: 50 }),
    }),
    fc.record({ op: fc.constant('swap' as const), a: fc.nat(), b: fc.nat() }),
  )
}

function applyOne(b: Buffer, e: Edit): Buffer {
  const at = (n: number) => (b.length === 0 ? 0 : n % b.length)
  switch (e.op) {
    case 'flip': {
      const c = Buffer.from(b)
      if (c.length > 0) c[at(e.at)] = e.byte
      return c
    }
    case 'insert':
      return Buffer.concat([b.subarray(0, at(e.at)), Buffer.from(e.text), b.subarray(at(e.at))])
    case 'delete':
      return Buffer.concat([b.subarray(0, at(e.at)), b.subarray(at(e.at) + e.n)])
    case 'repeat': {
      const span = b.subarray(at(e.at), at(e.at) + e.n)
      return Buffer.concat([b.subarray(0, at(e.at)), ...Array(e.times).fill(span), b.subarray(at(e.at) + e.n)])
    }
    case 'swap': {
      const lines = b.toString('latin1').split('\n')
      const i = e.a % lines.length
      const j = e.b % lines.length
      ;[lines[i], lines[j]] = [lines[j] as string, lines[i] as string]
      return Buffer.from(lines.join('\n'), 'latin1')
    }
  }
}

export function applyEdits(b: Buffer, edits: readonly Edit[]): Buffer {
  return edits.reduce(applyOne, b)
}

/** A sample, edited 1 to `max` times. */
export function mutatedBytes(samples: readonly Buffer[], tokens: readonly string[], max = 4): fc.Arbitrary<Buffer> {
  return fc
    .tuple(fc.nat({ max: samples.length - 1 }), fc.array(editArb(tokens), { minLength: 1, maxLength: max }))
    .map(([i, edits]) => applyEdits(samples[i] as Buffer, edits))
}

export function mutatedText(samples: readonly string[], tokens: readonly string[], max = 4): fc.Arbitrary<string> {
  return mutatedBytes(
    samples.map((s) => Buffer.from(s)),
    tokens,
    max,
  ).map((b) => b.toString('utf8'))
}

/** Lines built from a format's own vocabulary: `key = value`, table headers, comments. */
export function linesArb(headers: readonly string[], keys: readonly string[], values: readonly string[]) {
  const line = fc.oneof(
    fc.constantFrom(...headers),
    fc
      .tuple(fc.constantFrom(...keys), fc.constantFrom(...values, ...NASTY.map((n) => JSON.stringify(n))))
      .map(([k, v]) => `${k} = ${v}`),
    fc.constantFrom('# comment', ''),
  )
  return fc.array(line, { maxLength: 30 }).map((l) => l.join('\n'))
}
