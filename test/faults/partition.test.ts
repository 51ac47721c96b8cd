// Fault 2 (issue 9): the network splits in the middle of the transfer. Half
// the nodes (node04-06) are moved to a bridge of their own: they still reach
// each other, but neither the server (tracker, web seed, first seeder) nor
// the other half. After the outage the split heals and every node must
// finish verified with nobody's help. The test proves the split: during it a
// cut-off node gets no answer from the server while a connected one does,
// and the cut-off nodes still reach each other (a TCP probe). It reports
// what each side received during the split (switch counters).
// CI form: a 15 s split (the 60 s is the IMGSWARM_LONG=1 form).
import { setTimeout as sleep } from 'node:timers/promises'
import { afterEach, describe, expect, it } from 'vitest'
import { type Host, partition, portBytes, probe } from '../../fleetsim/index.ts'
import { unsupported } from '../fleet/support.ts'
import { tempDir } from '../support/tmp.ts'
import { eventsOf, installOn, MB, MiB, type Summary, type Swarm, startSwarm, until } from './swarm.ts'

const LONG = process.env.IMGSWARM_LONG === '1'
const N = 6
const DATA_MB = 16
const SPLIT_MS = LONG ? 60_000 : 15_000

let swarm: Swarm | undefined
afterEach(async () => {
  await swarm?.fleet.destroy()
  swarm = undefined
})

if (unsupported) it.skip(`fault test: ${unsupported}`, () => {})

describe.runIf(!unsupported)('fault 2: a network partition mid-transfer', () => {
  it(`half the fleet is cut off for ${SPLIT_MS / 1000} s and every node still finishes verified`, async () => {
    const dir = await tempDir()
    swarm = await startSwarm(dir, DATA_MB, {
      nodes: N,
      nodeUpBps: 40 * MB,
      nodeDownBps: 40 * MB,
      serverUpBps: 16 * MB,
    })
    const s = swarm
    const sideA = s.fleet.nodes.slice(0, N / 2)
    const sideB = s.fleet.nodes.slice(N / 2)
    const received = (b: Map<string, { toHost: number }>, hosts: Host[]) =>
      hosts.reduce((a, h) => a + (b.get(h.name)?.toHost ?? 0), 0)
    const start = await portBytes(s.fleet)
    const t0 = Date.now()
    const runs = await Promise.all(s.fleet.nodes.map((h) => installOn(s, h)))

    await until('the nodes to receive half an image', 120_000, async () => {
      const now = await portBytes(s.fleet)
      return received(now, s.fleet.nodes) - received(start, s.fleet.nodes) > (DATA_MB * MiB) / 2
    })
    const unfinishedAtSplit = runs.filter((r) => !r.steps.has('seed')).length
    const split = await partition(s.fleet, sideB)
    const splitAt = Date.now()
    const atSplit = await portBytes(s.fleet)
    // The split is real: side B cannot reach the server, side A can, and side B still reaches itself.
    const bReaches = await s.serverAnswers(sideB[0] as Host)
    const aReaches = await s.serverAnswers(sideA[0] as Host)
    const bToB = await probe(sideB[0] as Host, sideB[1] as Host, 64 * 1024).then(
      (p) => p.bytes,
      (e: Error) => e.message,
    )
    await sleep(SPLIT_MS - (Date.now() - splitAt))
    const atHeal = await portBytes(s.fleet)
    await split.heal()
    const healedAt = Date.now()

    const results = await Promise.all(runs.map((r) => r.result))
    const doneAt = Date.now()
    for (const [i, r] of results.entries()) expect(r.code, `${runs[i]?.host.name}:\n${r.stderr}`).toBe(0)
    expect(bReaches).toBe(false)
    expect(aReaches).toBe(true)
    expect(bToB).toBe(64 * 1024)
    expect(unfinishedAtSplit).toBe(N)
    const bDuring = received(atHeal, sideB) - received(atSplit, sideB)
    const aDuring = received(atHeal, sideA) - received(atSplit, sideA)
    for (const r of results) expect((JSON.parse(r.stdout) as Summary).inPlace).toBe(true)
    const events = await eventsOf(s)
    for (const h of s.fleet.nodes)
      expect(
        events.some((e) => e.node === h.name && e.step === 'done'),
        h.name,
      ).toBe(true)

    // Recovered: the last cut-off node verified this long after the heal.
    const recovered = Math.max(...runs.map((r) => r.steps.get('seed') ?? doneAt)) - healedAt
    const bLast = Math.max(...runs.filter((r) => sideB.includes(r.host)).map((r) => r.steps.get('seed') ?? doneAt))
    console.log(
      `fault 2: split at ${((splitAt - t0) / 1000).toFixed(1)} s for ${((healedAt - splitAt) / 1000).toFixed(1)} s; ` +
        `during it side A (with the server) received ${(aDuring / MB).toFixed(2)} MB, the cut-off side B ` +
        `${(bDuring / MB).toFixed(2)} MB among itself; side B verified ${((bLast - healedAt) / 1000).toFixed(1)} s ` +
        `after the heal, all ${(recovered / 1000).toFixed(1)} s after; all exited ${((doneAt - healedAt) / 1000).toFixed(1)} s after`,
    )
  }, 300_000)
})
