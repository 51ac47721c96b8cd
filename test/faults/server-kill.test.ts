// Fault 1 (issue 9): the image server is killed with kill -9 in the middle of
// a reimage. While it is down the nodes must keep trading pieces (the switch
// counts bytes reaching the nodes while the server's port is silent); nodes
// that start during the outage must retry their plan fetch; after serve is
// started again on the same store and port every install must finish and
// verify, every node's events must arrive, and the fleet database must pass
// PRAGMA integrity_check. CI form: 6 nodes (4 at the start, 2 during the
// outage), a 12 Mbit/s server uplink so the kill lands mid-transfer, a 12 s
// outage. IMGSWARM_LONG=1: 24 nodes (18 + 6), a 30 s outage.
import { setTimeout as sleep } from 'node:timers/promises'
import { afterEach, describe, expect, it } from 'vitest'
import { portBytes } from '../../fleetsim/index.ts'
import { unsupported } from '../fleet/support.ts'
import { cli } from '../support/cli.ts'
import { tempDir } from '../support/tmp.ts'
import {
  eventsOf,
  installOn,
  installRows,
  MB,
  MiB,
  type NodeRun,
  nodesReceived,
  type Summary,
  type Swarm,
  startSwarm,
  until,
} from './swarm.ts'

const LONG = process.env.IMGSWARM_LONG === '1'
const N = LONG ? 24 : 6
const LATE = LONG ? 6 : 2
const DATA_MB = LONG ? 32 : 16
const OUTAGE_MS = LONG ? 30_000 : 12_000

let swarm: Swarm | undefined
afterEach(async () => {
  await swarm?.fleet.destroy()
  swarm = undefined
})

if (unsupported) it.skip(`fault test: ${unsupported}`, () => {})

describe.runIf(!unsupported)('fault 1: serve killed with kill -9 mid-reimage', () => {
  it('nodes trade pieces while it is down, retry, and all finish verified after the restart', async () => {
    const dir = await tempDir()
    swarm = await startSwarm(dir, DATA_MB, {
      nodes: N,
      nodeUpBps: (LONG ? 6 : 40) * MB,
      nodeDownBps: (LONG ? 6 : 40) * MB,
      serverUpBps: (LONG ? 16 : 12) * MB,
    })
    const s = swarm
    const early = s.fleet.nodes.slice(0, N - LATE)
    const late = s.fleet.nodes.slice(N - LATE)
    const t0 = Date.now()
    const start = await portBytes(s.fleet)
    const runs: NodeRun[] = await Promise.all(early.map((h) => installOn(s, h)))

    // Kill once the nodes together hold about half an image copy: mid-transfer for all of them.
    await until('the early nodes to receive half an image', 120_000, async () => {
      return nodesReceived(await portBytes(s.fleet)) - nodesReceived(start) > (DATA_MB * MiB) / 2
    })
    const exitedBeforeKill = runs.filter((r) => r.child.exitCode !== null).map((r) => r.host.name)
    await s.killServe()
    const killedAt = Date.now()
    const atKill = await portBytes(s.fleet)
    // The kernel still sends what the dead process's sockets had buffered (their send buffers
    // are orphaned, not dropped): the outage window counts from when the server's port is quiet.
    let last = atKill.get('server')?.fromHost ?? 0
    await until("the server's port to fall quiet", OUTAGE_MS, async () => {
      await sleep(500)
      const now = (await portBytes(s.fleet)).get('server')?.fromHost ?? 0
      const quiet = now - last < 4096
      last = now
      return quiet
    })
    const quietAt = Date.now()
    const atQuiet = await portBytes(s.fleet)
    const drained = (atQuiet.get('server')?.fromHost ?? 0) - (atKill.get('server')?.fromHost ?? 0)
    // Nodes that boot while the server is down.
    runs.push(...(await Promise.all(late.map((h) => installOn(s, h)))))
    expect(await s.serverAnswers(s.fleet.nodes[0] as (typeof early)[0])).toBe(false)
    await sleep(OUTAGE_MS - (Date.now() - killedAt))
    const atRestart = await portBytes(s.fleet)
    const lateStderr = late.map((h) => runs.find((r) => r.host === h)?.stderr() ?? '')
    await s.restartServe()
    const restartedAt = Date.now()

    const results = await Promise.all(runs.map((r) => r.result))
    const doneAt = Date.now()
    for (const [i, r] of results.entries()) expect(r.code, `${runs[i]?.host.name}:\n${r.stderr}`).toBe(0)
    await s.killServe()

    // The fault happened as intended: the kill came mid-transfer, and nothing came from the server's host meanwhile.
    expect(exitedBeforeKill).toEqual([])
    // Every byte the server's host sent went to a node, so what the nodes received beyond it came from peers.
    const serverAfterQuiet = (atRestart.get('server')?.fromHost ?? 0) - (atQuiet.get('server')?.fromHost ?? 0)
    const serverSentDuring = (atRestart.get('server')?.fromHost ?? 0) - (atKill.get('server')?.fromHost ?? 0)
    const peersDuring = nodesReceived(atRestart) - nodesReceived(atKill) - serverSentDuring
    console.log(
      `fault 1 outage: kill at ${((killedAt - t0) / 1000).toFixed(1)} s; the server's port drained ` +
        `${drained} B of dead sockets' buffers in ${((quietAt - killedAt) / 1000).toFixed(1)} s, then sent ` +
        `${serverAfterQuiet} B; the nodes received ${peersDuring} B from each other in ` +
        `${((restartedAt - killedAt) / 1000).toFixed(1)} s`,
    )
    expect(restartedAt - quietAt).toBeGreaterThan(OUTAGE_MS / 2)
    expect(serverAfterQuiet).toBeLessThan(64 * 1024)
    // The nodes kept trading: at least 1 MiB moved between them while serve was dead.
    expect(peersDuring).toBeGreaterThan(MiB)

    // Verified installs (exit 0 is the client's own verification against the signed manifest).
    for (const [i, r] of results.entries()) {
      const sum = JSON.parse(r.stdout) as Summary
      expect(sum.inPlace, runs[i]?.host.name).toBe(true)
    }
    // Nodes that needed the server retried: the late ones their plan, the early ones their events.
    for (const [i, e] of lateStderr.entries()) expect(e, late[i]?.name).toMatch(/retrying in/)
    expect(runs.filter((r) => /cannot reach .* to report progress/.test(r.stderr())).length).toBeGreaterThan(0)

    // Every node's events reached the restarted server, the database is intact, and each install verified.
    await s.restartServe()
    const events = await eventsOf(s)
    await s.killServe()
    for (const h of s.fleet.nodes) expect(events.some((e) => e.node === h.name && e.step === 'done')).toBe(true)
    const check = cli(['db', 'check', '--store', s.store.root, '--quiet'])
    expect(check.status, check.stderr + check.stdout).toBe(0)
    const rows = installRows(s.store)
    for (const h of s.fleet.nodes) {
      expect(rows.filter((r) => r.node === h.name).map((r) => r.result)).toContain('verified')
    }

    // Recovered: the last node's install verified (its seed step began) this long after the restart.
    const recovered = Math.max(...runs.map((r) => r.steps.get('seed') ?? r.steps.get('done') ?? doneAt)) - restartedAt
    const down = results.reduce((a, r) => a + (JSON.parse(r.stdout) as Summary).image_stats.bytesDown, 0)
    const fromPeers = results.reduce((a, r) => a + (JSON.parse(r.stdout) as Summary).image_stats.bytesFromPeers, 0)
    console.log(
      `fault 1: ${N} nodes, kill at ${((killedAt - t0) / 1000).toFixed(1)} s, outage ` +
        `${((restartedAt - killedAt) / 1000).toFixed(1)} s (its sockets' buffers drained for ` +
        `${((quietAt - killedAt) / 1000).toFixed(1)} s: ${(drained / MB).toFixed(2)} MB); meanwhile the nodes got ` +
        `${(peersDuring / MB).toFixed(2)} MB from each other; all verified ` +
        `${(recovered / 1000).toFixed(1)} s after the restart, exited after ${((doneAt - restartedAt) / 1000).toFixed(1)} s; ${(down / MB).toFixed(1)} MB down, ` +
        `${(fromPeers / MB).toFixed(1)} MB from peers`,
    )
  }, 300_000)
})
