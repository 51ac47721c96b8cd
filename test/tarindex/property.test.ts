// Property tests: whatever a hostile server or a bit flip makes of an index,
// parseIndex either returns an index that encodes back to the same bytes, or
// refuses with IMGSWARM_ERR_INDEX_INVALID. It never throws anything else.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { isImgswarmError } from '../../common/errors.ts'
import { encodeIndex, parseIndex } from '../../common/tarindex/index.ts'
import { RUNS } from '../support/fuzz.ts'
import { ARCHIVE_SIZE, BASE, mutateEntry } from './fixtures.ts'

function accepted(bytes: Buffer): boolean {
  try {
    const got = parseIndex(bytes, { archiveSize: ARCHIVE_SIZE, maxBytes: 1 << 20 })
    expect(encodeIndex(got).equals(bytes)).toBe(true)
    return true
  } catch (e) {
    if (isImgswarmError(e, 'IMGSWARM_ERR_INDEX_INVALID')) return false
    throw e
  }
}

const edit = fc.oneof(
  fc.record({ op: fc.constant('flip' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ op: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
  fc.record({ op: fc.constant('delete' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 40 }) }),
  fc.record({
    op: fc.constant('text' as const),
    at: fc.nat(),
    text: fc.constantFrom(',', '\n', ']}', '{', '}', '"', '-', '0', '1e3', '"x":1,', '\\u0000', 'Lg==', '=='),
  }),
)

type Edit = { op: string; at: number; byte?: number; bytes?: Uint8Array; n?: number; text?: string }

function apply(b: Buffer, edits: Edit[]): Buffer {
  return edits.reduce(applyOne, b)
}

function applyOne(b: Buffer, e: Edit): Buffer {
  const at = b.length === 0 ? 0 : e.at % b.length
  switch (e.op) {
    case 'flip': {
      const c = Buffer.from(b)
      c[at] = e.byte as number
      return c
    }
    case 'insert':
      return Buffer.concat([b.subarray(0, at), Buffer.from(e.bytes as Uint8Array), b.subarray(at)])
    case 'delete':
      return Buffer.concat([b.subarray(0, at), b.subarray(at + (e.n as number))])
    default:
      return Buffer.concat([b.subarray(0, at), Buffer.from(e.text as string), b.subarray(at)])
  }
}

describe('parseIndex on mutated indexes', () => {
  it('byte edits: accepted only in canonical form, otherwise the coded error', () => {
    fc.assert(
      fc.property(fc.array(edit, { minLength: 1, maxLength: 4 }), (edits) => {
        accepted(apply(BASE, edits))
      }),
      { numRuns: RUNS },
    )
  })

  it('field edits: any JSON value in any field of any entry', () => {
    const keys = fc.constantFrom(
      'h',
      't',
      'p',
      'm',
      'u',
      'g',
      'mt',
      's',
      'l',
      'd',
      'x',
      'e',
      '__proto__',
      'constructor',
    )
    fc.assert(
      fc.property(fc.nat(7), keys, fc.option(fc.jsonValue(), { nil: undefined }), (i, k, v) => {
        const bytes = mutateEntry(i, (o) => {
          if (v === undefined) delete o[k]
          else Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true })
        })
        accepted(bytes)
      }),
      { numRuns: RUNS },
    )
  })

  it('number edits: offsets, sizes and extents moved anywhere', () => {
    const num = fc.oneof(fc.integer({ min: -2, max: ARCHIVE_SIZE + 2 }), fc.constantFrom(2 ** 53, -0, 0.5, 1e21))
    fc.assert(
      fc.property(fc.nat(7), fc.constantFrom('h', 's', 'e0', 'e1', 'e2'), num, (i, k, v) => {
        const bytes = mutateEntry(i, (o) => {
          if (k === 'h' || k === 's') o[k] = v
          else o.e = [[1536, 100, 0].map((x, j) => (`e${j}` === k ? v : x))]
        })
        accepted(bytes)
      }),
      { numRuns: RUNS },
    )
  })

  it('the unmutated index is accepted (the properties above can tell)', () => {
    expect(accepted(BASE)).toBe(true)
  })
})
