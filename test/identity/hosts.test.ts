// The text rules of the identity files: host name check and /etc/hosts edits.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { checkHostname, hostsWithName } from '../../client/identity/index.ts'
import { isImgswarmError } from '../../common/errors.ts'
import { RUNS } from '../support/fuzz.ts'

const DEBIAN_HOSTS = `127.0.0.1\tlocalhost
127.0.1.1\tdebian

# The following lines are desirable for IPv6 capable hosts
::1     localhost ip6-localhost ip6-loopback
ff02::1 ip6-allnodes
`

describe('checkHostname', () => {
  it('accepts RFC 1123 names, lower-cased', () => {
    expect(checkHostname('node007')).toBe('node007')
    expect(checkHostname('Node-7.Cluster.Example')).toBe('node-7.cluster.example')
    expect(checkHostname('7node')).toBe('7node')
    expect(checkHostname('a'.repeat(63))).toBe('a'.repeat(63))
  })

  it.each([
    '',
    '-node',
    'node-',
    'no_de',
    'a..b',
    '.node',
    'node.',
    'a'.repeat(64),
    'no de',
    'nöde',
    'a/b',
    `${'a.'.repeat(127)}a`,
  ])('refuses %j with IMGSWARM_ERR_HOSTNAME', (name) => {
    let caught: unknown
    try {
      checkHostname(name)
    } catch (e) {
      caught = e
    }
    expect(isImgswarmError(caught, 'IMGSWARM_ERR_HOSTNAME')).toBe(true)
  })
})

describe('hostsWithName', () => {
  it('replaces the 127.0.1.1 line the Debian way and keeps every other line', () => {
    expect(hostsWithName(DEBIAN_HOSTS, 'node007')).toBe(DEBIAN_HOSTS.replace('127.0.1.1\tdebian', '127.0.1.1\tnode007'))
    expect(hostsWithName(DEBIAN_HOSTS, 'node007.farm.example').split('\n')[1]).toBe(
      '127.0.1.1\tnode007.farm.example\tnode007',
    )
  })

  it('adds the line after 127.0.0.1, and localhost when the file has none', () => {
    expect(hostsWithName('# empty\n10.0.0.1 server\n', 'n1')).toBe(
      '127.0.0.1\tlocalhost\n127.0.1.1\tn1\n# empty\n10.0.0.1 server\n',
    )
    expect(hostsWithName(undefined, 'n1')).toBe('127.0.0.1\tlocalhost\n127.0.1.1\tn1\n')
    expect(hostsWithName('10.0.0.1 a\n127.0.0.1 localhost\n', 'n1')).toBe(
      '10.0.0.1 a\n127.0.0.1 localhost\n127.0.1.1\tn1\n',
    )
  })

  it('drops every old 127.0.1.1 line but keeps comments that mention it', () => {
    const text = '127.0.0.1 localhost\n127.0.1.1 old1\n  127.0.1.1   old2 # x\n# 127.0.1.1 commented\n'
    expect(hostsWithName(text, 'n1')).toBe('127.0.0.1 localhost\n127.0.1.1\tn1\n# 127.0.1.1 commented\n')
  })

  it('property: exactly one 127.0.1.1 line naming the host; other lines kept in order', () => {
    const line = fc.oneof(
      fc.constantFrom('127.0.0.1 localhost', '127.0.1.1 stale', '::1 localhost', '# comment', ''),
      fc.string({ unit: fc.constantFrom('a', '1', '.', ' ', '\t', '#', ':') }),
    )
    fc.assert(
      fc.property(fc.array(line, { maxLength: 12 }), (lines) => {
        const text = lines.join('\n')
        const out = hostsWithName(text, 'node1').split('\n')
        expect(out.at(-1)).toBe('')
        const ours = out.filter((l) => l.replace(/#.*/, '').trim().split(/\s+/)[0] === '127.0.1.1')
        expect(ours).toEqual(['127.0.1.1\tnode1'])
        const others = (s: string[]) =>
          s.filter((l) => !['127.0.1.1'].includes(l.replace(/#.*/, '').trim().split(/\s+/)[0] as string))
        const input = text.split('\n')
        if (input.at(-1) === '') input.pop()
        const kept = others(input)
        const rest = others(out.slice(0, -1)).filter((l) => l !== '127.0.0.1\tlocalhost' || kept.includes(l))
        expect(rest).toEqual(kept)
      }),
      { numRuns: RUNS },
    )
  })
})
