import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { parseSize } from '../../common/config.ts'
import { compareVersions, nextVersion, parseRef } from '../../common/names.ts'
import { RUNS } from '../support/fuzz.ts'

describe('names and refs', () => {
  it('parses NAME and NAME@VERSION', () => {
    expect(parseRef('base')).toEqual({ name: 'base', version: undefined })
    expect(parseRef('base@12')).toEqual({ name: 'base', version: '12' })
  })

  it('refuses anything that could be a path', () => {
    for (const bad of ['..', '.', '../x', 'a/b', '', '@1', 'a@', 'a@../1', '-x', 'a b', 'x'.repeat(65), 'a\0b']) {
      expect(() => parseRef(bad), bad).toThrow(expect.objectContaining({ code: 'IMGSWARM_ERR_INVALID_NAME' }))
    }
    fc.assert(
      fc.property(fc.string(), (s) => {
        try {
          const r = parseRef(s)
          for (const part of [r.name, r.version ?? 'v']) {
            expect(part).not.toMatch(/[/\0]/)
            expect(part === '.' || part === '..').toBe(false)
          }
        } catch (e) {
          expect((e as { code: string }).code).toBe('IMGSWARM_ERR_INVALID_NAME')
        }
      }),
      { numRuns: RUNS },
    )
  })

  it('orders versions naturally and picks the next number', () => {
    expect(['10', '9', '2'].sort(compareVersions)).toEqual(['2', '9', '10'])
    expect(nextVersion([])).toBe('1')
    expect(nextVersion(['1', '2', 'beta', '10'])).toBe('11')
  })

  it('parses sizes with units', () => {
    expect(parseSize('2m', 'x')).toBe(2 << 20)
    expect(parseSize('512KiB', 'x')).toBe(512 << 10)
    expect(() => parseSize('lots', 'x')).toThrow(expect.objectContaining({ code: 'IMGSWARM_ERR_USAGE' }))
  })
})
