// The fleet harness on its own: hosts in network namespaces that reach each
// other over shaped links, and that leave nothing behind, whether the owner
// destroys the fleet, is stopped by a signal, or is killed outright.
import { randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterEach, describe, expect, it } from 'vitest'
import { run } from '../../fleetsim/commands.ts'
import { cleanupStale, createFleet, type Fleet, probe } from '../../fleetsim/index.ts'
import { fleetOwner, netnsNames, type Owner, processAlive, rootLinksOf, unsupported } from './support.ts'

const fleets: Fleet[] = []
const owners: Owner[] = []
afterEach(async () => {
  for (const o of owners.splice(0)) o.child.kill('SIGKILL')
  for (const f of fleets.splice(0)) await f.destroy()
  await cleanupStale()
})

const PORT_RTT = 5999 // nothing listens: the RST answers after one round trip
const tag = () => `t${randomBytes(3).toString('hex')}`
const ours = async (t: string) => (await netnsNames()).filter((n) => n.includes(`-${t}-`)).sort()

async function gone(pid: number): Promise<boolean> {
  for (let i = 0; i < 100 && processAlive(pid); i++) await sleep(50)
  return !processAlive(pid)
}

if (unsupported) it.skip(`fleet harness tests: ${unsupported}`, () => {})

describe.runIf(!unsupported)('fleet harness', () => {
  it('builds hosts that reach each other over links shaped both ways; destroy leaves nothing', async () => {
    const t = tag()
    const fleet = await createFleet({ nodes: 3, nodeUpBps: 40e6, nodeDownBps: 20e6, serverUpBps: 80e6, tag: t })
    fleets.push(fleet)
    const [n1, n2, n3] = fleet.nodes as [Fleet['server'], Fleet['server'], Fleet['server']]
    expect([fleet.server.name, ...fleet.nodes.map((h) => h.name)]).toEqual(['server', 'node01', 'node02', 'node03'])
    expect(new Set([fleet.server.ip, n1.ip, n2.ip, n3.ip]).size).toBe(4)
    expect(await ours(t)).toHaveLength(5) // the switch and four hosts
    // Nothing in the machine's own namespace.
    expect(await rootLinksOf(t)).toEqual([])

    const lo = JSON.parse((await n3.exec('ip', ['-j', 'link', 'show', 'lo'])).stdout) as { flags: string[] }[]
    expect(lo[0]?.flags).toContain('UP')
    const addr = await n3.exec('ip', ['-4', '-o', 'addr', 'show', 'eth0'])
    expect(addr.stdout).toContain(`${n3.ip}/24`)

    // TCP node -> server and node -> node.
    expect((await probe(n1, fleet.server, 1e6)).bytes).toBe(1e6)
    expect((await probe(n2, n3, 1e6, 5202)).bytes).toBe(1e6)

    // Upload: node01 sends at its 40 Mbit/s (the server receives at 80).
    const up = await probe(n1, fleet.server, (40e6 / 8) * 2)
    expect(up.bps / 40e6).toBeGreaterThan(0.85)
    expect(up.bps / 40e6).toBeLessThan(1.15)
    // Download: node02 receives at its 20 Mbit/s (the server sends at 80).
    const down = await probe(fleet.server, n2, (20e6 / 8) * 2)
    expect(down.bps / 20e6).toBeGreaterThan(0.85)
    expect(down.bps / 20e6).toBeLessThan(1.15)

    const sleeper = n2.spawn('sleep', ['1000'], { stdio: 'ignore' })
    const sleeperGone = new Promise((resolve) => sleeper.once('exit', resolve))
    await fleet.destroy()
    await fleet.destroy() // idempotent
    await sleeperGone
    expect(await ours(t)).toEqual([])
    expect(await rootLinksOf(t)).toEqual([])
    expect(() => n1.spawn('true', [])).toThrow(/destroyed/)
  })

  it('a fleet owner killed with SIGKILL leaves leftovers that cleanupStale removes, and only those', async () => {
    const t = tag()
    const owner = await fleetOwner(t)
    owners.push(owner)
    const made = await ours(t)
    expect(made).toHaveLength(4)
    // Its owner lives: not stale.
    expect(await cleanupStale()).not.toContain(owner.netns)
    expect(await ours(t)).toEqual(made)

    owner.child.kill('SIGKILL')
    await owner.exited
    expect(await ours(t)).toEqual(made)
    expect(processAlive(owner.sleeperPid)).toBe(true)

    const removed = await cleanupStale()
    expect(removed.filter((n) => n.includes(`-${t}-`)).sort()).toEqual(made)
    expect(await ours(t)).toEqual([])
    expect(await gone(owner.sleeperPid)).toBe(true)
  })

  it('a fleet owner stopped by SIGTERM tears its fleet down itself', async () => {
    const t = tag()
    const owner = await fleetOwner(t)
    owners.push(owner)
    expect(await ours(t)).toHaveLength(4)
    owner.child.kill('SIGTERM')
    await owner.exited
    expect(owner.child.signalCode).toBe('SIGTERM')
    expect(await ours(t)).toEqual([])
    expect(await gone(owner.sleeperPid)).toBe(true)
  })

  it('adds latency with netem, or says clearly that this kernel has no netem', async () => {
    const t = tag()
    const spec = { nodes: 1, nodeUpBps: 50e6, nodeDownBps: 50e6, serverUpBps: 50e6, latencyMs: 25, tag: t }
    const made = await createFleet(spec).then(
      (f) => f,
      (e: Error & { code?: string }) => e,
    )
    if (made instanceof Error) {
      expect(made).toMatchObject({ code: 'IMGSWARM_ERR_USAGE', message: expect.stringMatching(/netem/) })
      expect(await ours(t)).toEqual([])
      return
    }
    fleets.push(made)
    // A TCP connect takes a round trip: 25 ms each way at least.
    const script = `const s=require('net').connect(${PORT_RTT},'${made.server.ip}');const t=performance.now();s.on('error',()=>{console.log(performance.now()-t);process.exit(0)});s.on('connect',()=>{console.log(performance.now()-t);process.exit(0)})`
    const r = await made.nodes[0]?.exec(process.execPath, ['-e', script])
    expect(Number(r?.stdout.trim())).toBeGreaterThanOrEqual(50)
  })

  it('refuses a bad spec before making anything', async () => {
    const ok = { nodes: 2, nodeUpBps: 1e6, nodeDownBps: 1e6, serverUpBps: 1e6 }
    const t = tag()
    for (const bad of [
      { ...ok, nodes: 0 },
      { ...ok, nodes: 65 },
      { ...ok, nodeUpBps: Number.NaN },
      { ...ok, serverUpBps: -1 },
      { ...ok, lossPct: 101 },
      { ...ok, tag: 'Bad-Tag' },
    ]) {
      await expect(createFleet({ tag: t, ...bad })).rejects.toMatchObject({ code: /^IMGSWARM_ERR_/ })
    }
    expect(await ours(t)).toEqual([])
    const left = await run('ip', ['netns', 'list'])
    expect(left.stdout).not.toContain(`-${t}-`)
  })
})
