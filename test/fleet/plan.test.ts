// The pure parts of the fleet harness (no root needed): names that fit the
// kernel's limits and can be traced to their owner, and the tc lines.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { layout, MAX_NODES, ownerOf } from '../../fleetsim/names.ts'
import { rootLines, switchLines } from '../../fleetsim/setup.ts'
import { checkRate, shapeLines, TCP_GOODPUT, tbfParams } from '../../fleetsim/shaping.ts'
import { RUNS } from '../support/fuzz.ts'

describe('fleet names', () => {
  it('interface names fit in 15 characters, addresses are distinct and private, namespaces name their owner', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4_194_304 }),
        fc.stringMatching(/^[a-z0-9]{1,12}$/),
        fc.integer({ min: 1, max: MAX_NODES }),
        (pid, tag, n) => {
          const l = layout(pid, tag, n)
          const hosts = [l.server, ...l.nodes]
          expect(new Set(hosts.map((h) => h.ip)).size).toBe(n + 1)
          expect(new Set(hosts.map((h) => h.port)).size).toBe(n + 1)
          for (const h of hosts) {
            expect(h.port.length).toBeLessThanOrEqual(15)
            expect(h.ip).toMatch(/^10\.99\.0\.\d{1,3}$/)
            expect(ownerOf(h.netns)).toEqual({ pid, tag })
          }
          expect(ownerOf(l.switchNs)).toEqual({ pid, tag })
          expect(l.nodes.at(-1)?.name).toBe(`node${String(n).padStart(2, '0')}`)
        },
      ),
      { numRuns: RUNS },
    )
  })

  it('does not claim namespaces it did not make', () => {
    for (const n of [
      'isw',
      'isw12-x',
      'isw12-Tag-sw',
      'isw12-t-node1',
      'foo12-t-sw',
      'isw12-t-server2',
      'isw-1-t-sw',
    ]) {
      expect(ownerOf(n), n).toBeUndefined()
    }
  })

  it('creates every veth end inside a namespace, never in the root one', () => {
    const l = layout(42, 'x', 3)
    for (const line of rootLines(l).filter((x) => x.startsWith('link'))) {
      expect(line).toMatch(/^link add p\d+ netns isw42-x-sw type veth peer name eth0 netns isw42-x-(server|node\d\d)$/)
    }
    expect(switchLines(l)).toContain('link set p3 master br0')
  })
})

describe('fleet shaping', () => {
  it('a token bucket at the rate, burst and queue sized from it', () => {
    expect(shapeLines('eth0', { bps: 50e6 })).toEqual([
      `qdisc replace dev eth0 root handle 1: tbf rate 50000000bit burst 32768 limit ${32768 + 312500}`,
    ])
    const { burst, limit } = tbfParams(1e9)
    expect(burst).toBe(625000)
    expect(limit).toBe(625000 + 6250000)
    expect(TCP_GOODPUT).toBeCloseTo(0.956, 3)
  })

  it('netem over the token bucket when latency or loss is asked for', () => {
    const lines = shapeLines('eth0', { bps: 80e6, latencyMs: 20, lossPct: 0.5 })
    expect(lines[0]).toBe('qdisc replace dev eth0 root handle 1: netem limit 1000 delay 20ms loss 0.5%')
    expect(lines[1]).toMatch(/^qdisc replace dev eth0 parent 1:1 handle 10: tbf rate 80000000bit /)
  })

  it('refuses rates that are not rates', () => {
    for (const bad of [0, -1, 100, Number.NaN, Number.POSITIVE_INFINITY, 1e12, '50mbit']) {
      expect(() => checkRate('nodeUpBps', bad), String(bad)).toThrow(/bits per second/)
    }
    expect(checkRate('x', 50e6)).toBe(50e6)
  })
})
