// Property tests for sanitizeEntryPath: whatever the bytes, the result is a
// list of plain components that cannot leave the root, and anything with a
// `..` component, an absolute path or a NUL is refused (never repaired).
import { resolve } from 'node:path'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { sanitizeEntryPath, showPath } from '../../common/archive/index.ts'
import { isImgswarmError } from '../../common/errors.ts'
import { RUNS } from '../support/fuzz.ts'

const ROOT = '/srv/root'
const CODES = ['IMGSWARM_ERR_PATH_ESCAPE', 'IMGSWARM_ERR_NAME_TOO_LONG']

/** Components biased towards the interesting ones. */
const component = fc.oneof(
  fc.constantFrom('.', '..', '', 'a', '...', '.hidden', '..a', 'a..', ' ', '\\'),
  fc
    .uint8Array({ minLength: 1, maxLength: 12 })
    .map((a) => Buffer.from(a.map((b) => (b === 0 || b === 0x2f ? 0x78 : b))).toString('latin1')),
)

const pathOf = (parts: string[], lead: string) => Buffer.from(lead + parts.join('/'), 'latin1')

function checkResult(comps: Buffer[]): void {
  for (const c of comps) {
    expect(c.length).toBeGreaterThan(0)
    expect(c.length).toBeLessThanOrEqual(255)
    expect(c.includes(0x2f)).toBe(false)
    expect(c.includes(0)).toBe(false)
    const s = c.toString('latin1')
    expect(s === '.' || s === '..').toBe(false)
  }
  // latin1 keeps every byte, so this is the kernel's view of the joined path.
  const joined = resolve(ROOT, ...comps.map((c) => c.toString('latin1')))
  expect(joined === ROOT || joined.startsWith(`${ROOT}/`)).toBe(true)
}

describe('sanitizeEntryPath (properties)', () => {
  it('matches the model: refuse `..`/absolute, drop `.` and empty components', () => {
    fc.assert(
      fc.property(
        fc.array(component, { maxLength: 12 }),
        fc.constantFrom('', './', '/', '//', '../'),
        (parts, lead) => {
          const raw = pathOf(parts, lead)
          const all = [...(lead === '../' ? ['..'] : []), ...parts]
          const shouldThrow = raw.length === 0 || raw[0] === 0x2f || all.includes('..')
          let comps: Buffer[] | undefined
          try {
            comps = sanitizeEntryPath(raw)
          } catch (e) {
            if (!isImgswarmError(e) || !CODES.includes(e.code)) throw e
            expect(shouldThrow).toBe(true)
            return
          }
          expect(shouldThrow).toBe(false)
          checkResult(comps)
          expect(comps.map((c) => c.toString('latin1'))).toEqual(all.filter((p) => p !== '' && p !== '.'))
        },
      ),
      { numRuns: RUNS },
    )
  })

  it('arbitrary bytes: a coded error or components that stay under the root', () => {
    const byte = fc.oneof(fc.constantFrom(0x2f, 0x2e, 0x2e, 0x61, 0), fc.integer({ min: 0, max: 255 }))
    fc.assert(
      fc.property(fc.array(byte, { maxLength: 64 }), (bytes) => {
        const raw = Buffer.from(bytes)
        try {
          checkResult(sanitizeEntryPath(raw))
        } catch (e) {
          if (!isImgswarmError(e) || !CODES.includes(e.code)) throw e
        }
        expect(typeof showPath(raw)).toBe('string')
      }),
      { numRuns: RUNS },
    )
  })

  it('any path with a `..` component anywhere throws', () => {
    fc.assert(
      fc.property(
        fc.array(component, { maxLength: 8 }),
        fc.nat(),
        fc.constantFrom('..', '../', '/..', '/../'),
        (parts, at, dots) => {
          const clean = parts.filter((p) => p !== '..')
          const i = at % (clean.length + 1)
          const raw = Buffer.from([...clean.slice(0, i), dots, ...clean.slice(i)].join('/'), 'latin1')
          expect(() => sanitizeEntryPath(raw)).toThrow(expect.objectContaining({ code: 'IMGSWARM_ERR_PATH_ESCAPE' }))
        },
      ),
      { numRuns: RUNS },
    )
  })

  it('enforces NAME_MAX per component and PATH_MAX overall', () => {
    expect(sanitizeEntryPath(Buffer.from(`a/${'n'.repeat(255)}`))).toHaveLength(2)
    expect(() => sanitizeEntryPath(Buffer.from(`a/${'n'.repeat(256)}`))).toThrow(
      expect.objectContaining({ code: 'IMGSWARM_ERR_NAME_TOO_LONG' }),
    )
    expect(sanitizeEntryPath(Buffer.from('./'.repeat(2048)))).toEqual([])
    expect(() => sanitizeEntryPath(Buffer.from(`${'./'.repeat(2048)}a`))).toThrow(
      expect.objectContaining({ code: 'IMGSWARM_ERR_NAME_TOO_LONG' }),
    )
  })

  it('examples', () => {
    const s = (p: string) => sanitizeEntryPath(Buffer.from(p)).map(String)
    expect(s('./')).toEqual([])
    expect(s('.')).toEqual([])
    expect(s('./a//b/')).toEqual(['a', 'b'])
    expect(s('a/./b/.')).toEqual(['a', 'b'])
    expect(s('...')).toEqual(['...'])
    for (const bad of ['', '/', '/etc/passwd', '..', '../x', 'a/../b', 'a/..', 'a\0b']) {
      expect(() => sanitizeEntryPath(Buffer.from(bad)), bad).toThrow(
        expect.objectContaining({ code: 'IMGSWARM_ERR_PATH_ESCAPE' }),
      )
    }
    expect(showPath(Buffer.from([0x61, 0xff, 0x0a, 0x5c]))).toBe('a\\xff\\x0a\\\\')
    expect(showPath(Buffer.from('dé/ü'))).toBe('dé/ü')
    expect(showPath(Buffer.from('a\u009b2Jb'))).toBe('a\\xc2\\x9b2Jb')
    expect(showPath(Buffer.from([0xc0, 0x80, 0xe2, 0x82]))).toBe('\\xc0\\x80\\xe2\\x82')
    expect(showPath(Buffer.from('x'.repeat(5000)))).toMatch(/\(5000 bytes\)$/)
  })
})
