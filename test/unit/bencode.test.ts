import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { type BDecoded, type BValue, bdecode, bencode } from '../../common/bencode.ts'
import { RUNS } from '../support/fuzz.ts'

const value = fc.letrec<{ v: BValue }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small' },
    fc.integer(),
    fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a)),
    fc.array(tie('v'), { maxLength: 4 }),
    fc.dictionary(fc.string({ maxLength: 8 }), tie('v'), { maxKeys: 4 }),
  ),
})).v

function toPlain(v: BValue): BDecoded {
  if (typeof v === 'number') return v
  if (typeof v === 'bigint') return Number(v)
  if (typeof v === 'string') return Buffer.from(v)
  if (Buffer.isBuffer(v)) return v
  if (Array.isArray(v)) return v.map(toPlain)
  return new Map(
    Object.entries(v)
      .filter(([, x]) => x !== undefined)
      .map(([k, x]) => [k, toPlain(x as BValue)]),
  )
}

describe('bencode', () => {
  it('encodes dictionaries with sorted keys (BEP 3)', () => {
    expect(bencode({ b: 1, a: 'x', c: [1, 'y'] }).toString()).toBe('d1:a1:x1:bi1e1:cli1e1:yee')
  })

  it('round-trips any value', () => {
    fc.assert(
      fc.property(value, (v) => {
        const { value: back } = bdecode(bencode(v))
        expect(back).toEqual(toPlain(v))
      }),
      { numRuns: RUNS },
    )
  })

  it('rejects malformed input with an Error, never a crash or a hang', () => {
    for (const bad of [
      'i01e',
      'i-0e',
      'd1:b0:1:a0:e',
      '3:ab',
      'l',
      'x',
      'i1ei2e',
      `${'l'.repeat(100)}${'e'.repeat(100)}`,
    ]) {
      expect(() => bdecode(Buffer.from(bad)), bad).toThrow(/invalid bencoding/)
    }
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (a) => {
        try {
          bdecode(Buffer.from(a))
        } catch (e) {
          expect((e as Error).message).toMatch(/invalid bencoding/)
        }
      }),
      { numRuns: RUNS },
    )
  })
})
