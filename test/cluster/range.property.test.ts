// Host ranges by property: the count is the number of names, every name has
// the declared width, names come in the documented order, compressing and
// expanding again gives the same set, and bad ranges are always refused.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { compressHosts, expandHosts, HostRangeError, parseHostPattern } from '../../seeder/cluster/index.ts'
import { RUNS } from '../support/fuzz.ts'

const label = fc.stringMatching(/^[a-z][a-z0-9-]{0,6}[a-z]$/)
/** One bracket item: lo..hi in a width that fits both (0: plain numbers). */
const item = fc
  .tuple(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 40 }), fc.boolean())
  .map(([lo, len, padded]) => {
    const hi = lo + len
    const width = padded ? String(hi).length + 1 : 0
    return { lo, hi, width }
  })
const fmt = (n: number, w: number) => (w === 0 ? String(n) : String(n).padStart(w, '0'))

describe('host ranges (property)', () => {
  it('count, padding and order of one range', () => {
    fc.assert(
      fc.property(label, item, fc.constantFrom('', '.farm.example', '-ib'), (pre, { lo, hi, width }, post) => {
        const text = `${pre}[${fmt(lo, width)}-${fmt(hi, width)}]${post}`
        const p = parseHostPattern(text)
        const names = expandHosts(text)
        expect(p.count).toBe(hi - lo + 1)
        expect(names).toHaveLength(hi - lo + 1)
        names.forEach((n, i) => {
          expect(n).toBe(`${pre}${fmt(lo + i, width)}${post}`)
        })
      }),
      { numRuns: RUNS },
    )
  })

  it('several brackets: the count is the product and the order is lexicographic by position', () => {
    fc.assert(
      fc.property(fc.array(item, { minLength: 1, maxLength: 3 }), (items) => {
        const small = items.map((x) => ({ ...x, hi: Math.min(x.hi, x.lo + 5) }))
        const text = small.map((x, i) => `p${i}[${fmt(x.lo, x.width)}-${fmt(x.hi, x.width)}]`).join('-')
        const names = expandHosts(text)
        const want = small.reduce((n, x) => n * (x.hi - x.lo + 1), 1)
        expect(names).toHaveLength(want)
        expect(new Set(names).size).toBe(want)
        // The last bracket varies fastest: the first name steps only in the last bracket.
        const last = small.at(-1) as { lo: number; hi: number; width: number }
        if (last.hi > last.lo) expect(names[1]?.endsWith(fmt(last.lo + 1, last.width))).toBe(true)
      }),
      { numRuns: RUNS },
    )
  })

  it('compressing then expanding gives back the same names', () => {
    const name = fc.tuple(
      fc.constantFrom('node', 'gpu', 'rack1-n', 'login'),
      fc.integer({ min: 0, max: 200 }),
      fc.constantFrom(0, 3, 4),
      fc.constantFrom('', '.farm.example'),
    )
    fc.assert(
      fc.property(fc.array(name, { minLength: 1, maxLength: 60 }), (parts) => {
        const names = [...new Set(parts.map(([p, n, w, d]) => `${p}${fmt(n, w)}${d}`))]
        const back = compressHosts(names).flatMap((t) => expandHosts(t))
        expect(new Set(back)).toEqual(new Set(names))
        expect(back).toHaveLength(names.length)
      }),
      { numRuns: RUNS },
    )
  })

  it('refuses every backwards range and every padded range of mismatched widths', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5000 }), fc.integer({ min: 1, max: 5000 }), (a, d) => {
        expect(() => parseHostPattern(`n[${a + d}-${a}]`)).toThrow(/runs backwards/)
        const lo = fmt(a, String(a).length + 1)
        const hi = fmt(a + d, String(a + d).length + 2)
        expect(() => parseHostPattern(`n[${lo}-${hi}]`)).toThrow(HostRangeError)
      }),
      { numRuns: RUNS },
    )
  })

  it('never throws anything but a HostRangeError on arbitrary text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (text) => {
        try {
          const p = parseHostPattern(text)
          expect(p.count).toBeGreaterThan(0)
        } catch (e) {
          expect(e).toBeInstanceOf(HostRangeError)
        }
      }),
      { numRuns: RUNS },
    )
  })
})
