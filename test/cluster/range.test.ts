// Host ranges by example: counts, padding, order, several ranges in one
// name, and every refusal with a message that says what to write instead.
import { describe, expect, it } from 'vitest'
import {
  compressHosts,
  expandHosts,
  HostRangeError,
  MAX_RANGE_HOSTS,
  parseHostPattern,
} from '../../seeder/cluster/index.ts'

describe('host ranges', () => {
  it('expands a zero-padded range with its width kept', () => {
    const names = expandHosts('node[001-128]')
    expect(names).toHaveLength(128)
    expect(names[0]).toBe('node001')
    expect(names[9]).toBe('node010')
    expect(names[127]).toBe('node128')
  })

  it('keeps a domain after the range and lower-cases names', () => {
    expect(expandHosts('GPU[01-03].Farm.Example')).toEqual([
      'gpu01.farm.example',
      'gpu02.farm.example',
      'gpu03.farm.example',
    ])
  })

  it('takes plain numbers of different widths when nothing is padded', () => {
    expect(expandHosts('n[8-11]')).toEqual(['n8', 'n9', 'n10', 'n11'])
  })

  it('expands comma lists in the order written, each range counting up', () => {
    expect(expandHosts('n[7,1-3,010]')).toEqual(['n7', 'n1', 'n2', 'n3', 'n010'])
  })

  it('expands several ranges in one name like nested loops, the first slowest', () => {
    expect(expandHosts('rack[1-2]-n[01-02]')).toEqual(['rack1-n01', 'rack1-n02', 'rack2-n01', 'rack2-n02'])
    expect(parseHostPattern('r[1-4]-c[1-8]-n[01-32]').count).toBe(4 * 8 * 32)
  })

  it('treats a name without brackets as itself', () => {
    expect(expandHosts('login1')).toEqual(['login1'])
  })

  it.each([
    ['node[010-001]', /runs backwards \(write 001-010\)/],
    ['node[01-100]', /mismatched widths in 01-100/],
    ['node[1-010]', /mismatched widths/],
    ['node[]', /empty brackets/],
    ['node[1-3', /"\[" without "\]"/],
    ['node1-3]', /"\]" without "\["/],
    ['node[[1-3]]', /cannot nest/],
    ['node[a-c]', /is not a number/],
    ['node[1-5,3-7]', /names 3 twice/],
    ['no_de[1-3]', /characters a host name cannot have/],
    ['-node[1-3]', /not a valid host name/],
    [`${'a'.repeat(61)}[1-100]`, /not a valid host name/],
    ['n[0-1234567890]', /more than 9 digits/],
    ['n[0-99999999]', /more than 100,000 hosts/],
    ['r[1-1000]-n[1-1000]', /more than 100,000 hosts/],
    ['', /non-empty/],
  ])('refuses %j', (text, message) => {
    expect(() => parseHostPattern(text)).toThrow(HostRangeError)
    expect(() => parseHostPattern(text)).toThrow(message)
  })

  it('takes exactly the limit', () => {
    expect(parseHostPattern(`n[1-${MAX_RANGE_HOSTS}]`).count).toBe(MAX_RANGE_HOSTS)
  })

  it('compresses names back into ranges', () => {
    expect(compressHosts(expandHosts('node[001-010,020,100-102]'))).toEqual(['node[001-010,020,100-102]'])
    expect(compressHosts(['login1', 'gpu02.x', 'gpu01.x', 'gpu03.x', 'head'])).toEqual([
      'head',
      'login1',
      'gpu[01-03].x',
    ])
    expect(compressHosts(['n9', 'n10', 'n11'])).toEqual(['n9', 'n[10-11]'])
  })
})
