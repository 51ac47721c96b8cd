// Fault 4 (issue 9): malicious peers join the swarm. Each announces itself to
// the tracker as a seed of the image's torrent and claims every piece (a full
// bitfield) over a real socket (bittorrent-protocol, evil-peer.ts):
// - "garbage" answers every request with random bytes;
// - "silent" never answers a request.
// Honest nodes must detect the bad pieces (hash failures), ban the liar, not
// stall on the silent one, and finish verified. The test proves the attack
// happened: the garbage peer sent blocks and the nodes counted hash failures
// and a ban; the silent peer received requests it never answered.
import type { ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import type { Host } from '../../fleetsim/index.ts'
import { unsupported } from '../fleet/support.ts'
import { tempDir } from '../support/tmp.ts'
import { allResults, installOn, MB, type Summary, type Swarm, startSwarm, until } from './swarm.ts'

const EVIL = fileURLToPath(new URL('./evil-peer.ts', import.meta.url))
const HONEST = 4
const EVIL_PORT = 6881

interface Evil {
  host: Host
  child: ChildProcess
  events: Record<string, unknown>[]
}

async function startEvil(s: Swarm, host: Host, mode: 'garbage' | 'silent'): Promise<Evil> {
  const torrent = (await s.store.packed('image', 'base', '1'))?.torrent
  if (torrent === undefined) throw new Error('base@1 is not packed')
  const child = host.spawn(process.execPath, [EVIL, torrent, `${s.serve.url}/announce`, String(EVIL_PORT), mode], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const events: Record<string, unknown>[] = []
  child.stderr?.on('data', (c: Buffer) => {
    events.push({ ev: 'stderr', text: c.toString() })
  })
  let buf = ''
  child.stdout?.on('data', (c: Buffer) => {
    buf += c.toString()
    const lines = buf.split('\n')
    buf = lines.pop() ?? ''
    for (const l of lines) if (l) events.push(JSON.parse(l) as Record<string, unknown>)
  })
  return { host, child, events }
}

let swarm: Swarm | undefined
afterEach(async () => {
  await swarm?.fleet.destroy()
  swarm = undefined
})

if (unsupported) it.skip(`fault test: ${unsupported}`, () => {})

describe.runIf(!unsupported)('fault 4: malicious peers in the swarm', () => {
  it('honest nodes reject garbage, ban its sender, outlast a silent peer, and finish verified', async () => {
    const dir = await tempDir()
    swarm = await startSwarm(dir, 12, {
      nodes: HONEST + 2,
      nodeUpBps: 40 * MB,
      nodeDownBps: 40 * MB,
      serverUpBps: 16 * MB,
    })
    const s = swarm
    const honest = s.fleet.nodes.slice(0, HONEST)
    const garbage = await startEvil(s, s.fleet.nodes[HONEST] as Host, 'garbage')
    const silent = await startEvil(s, s.fleet.nodes[HONEST + 1] as Host, 'silent')
    // Both are in the tracker's swarm before the first honest node asks it.
    await until('the malicious peers to announce', 30_000, () =>
      [garbage, silent].every((e) => e.events.some((x) => x.ev === 'announce' && x.error === undefined)),
    ).catch((e: Error) => {
      throw new Error(`${e.message}: ${JSON.stringify([garbage.events.slice(0, 3), silent.events.slice(0, 3)])}`)
    })
    const t0 = Date.now()
    const runs = await Promise.all(honest.map((h) => installOn(s, h)))
    // When each node first banned the garbage peer.
    const bannedAt = new Map<string, number>()
    for (const r of runs) {
      r.child.stderr?.on('data', (c: Buffer) => {
        if (!bannedAt.has(r.host.name) && c.toString().includes(`banned peer ${garbage.host.ip}:`))
          bannedAt.set(r.host.name, Date.now())
      })
    }
    const count = (e: Evil, ev: string) => e.events.filter((x) => x.ev === ev).length
    const results = await allResults(runs, 150_000, () =>
      [garbage, silent]
        .map(
          (e) => `${e.host.name}: ${['conn', 'request', 'sent', 'close'].map((k) => `${k} ${count(e, k)}`).join(', ')}`,
        )
        .join('\n'),
    )
    const seconds = (Date.now() - t0) / 1000
    for (const [i, r] of results.entries()) expect(r.code, `${runs[i]?.host.name}:\n${r.stderr}`).toBe(0)

    const sums = results.map((r) => (JSON.parse(r.stdout) as Summary).image_stats)
    const failed = sums.reduce((a, x) => a + x.piecesFailed, 0)
    const banned = sums.reduce((a, x) => a + x.peersBanned, 0)
    const garbageSent = garbage.events.filter((e) => e.ev === 'sent').reduce((a, e) => a + (e.bytes as number), 0)
    const silentAsked = silent.events.filter((e) => e.ev === 'request').length
    const bans = runs.filter((r) => r.stderr().includes(`banned peer ${garbage.host.ip}:`)).length
    const sec = (ms: number) => ((ms - t0) / 1000).toFixed(1)
    const perNode = runs
      .map(
        (r) =>
          `${r.host.name}: download ${sec(r.steps.get('download') ?? t0)} s, ban ${
            bannedAt.has(r.host.name) ? `${sec(bannedAt.get(r.host.name) as number)} s` : 'none'
          }, verified ${sec(r.steps.get('seed') ?? Date.now())} s`,
      )
      .join('; ')
    console.log(`fault 4 timeline (s after the first install started): ${perNode}`)
    console.log(
      `fault 4: ${HONEST} honest nodes finished in ${seconds.toFixed(1)} s; the garbage peer sent ` +
        `${(garbageSent / MB).toFixed(2)} MB to ${garbage.events.filter((e) => e.ev === 'conn').length} connections, ` +
        `the nodes failed ${failed} piece(s) and banned ${banned} peer(s) (${bans} node(s) banned it by address); ` +
        `the silent peer got ${silentAsked} request(s), answered none`,
    )
    // The attack happened: garbage went out and was caught by the piece hashes, and its sender banned.
    expect(garbageSent).toBeGreaterThan(0)
    expect(failed).toBeGreaterThan(0)
    expect(banned).toBeGreaterThan(0)
    expect(bans).toBeGreaterThan(0)
    // No honest node ever banned another honest node, the server's seeder or its web seed.
    for (const r of runs) {
      for (const m of r.stderr().matchAll(/banned peer (\S+) \(id/g))
        expect(m[1]?.startsWith(`${garbage.host.ip}:`), m[1]).toBe(true)
    }
    // The silent peer was asked for blocks and never answered; the nodes finished anyway.
    expect(silentAsked).toBeGreaterThan(0)
    // And every install verified against the signed manifest.
    for (const x of results) expect((JSON.parse(x.stdout) as Summary).inPlace).toBe(true)
  }, 300_000)
})
