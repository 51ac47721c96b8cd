// The short form of the soak and load run (bench/load, docs/load.md): a real
// `imgswarm serve` in its own process, 200 simulated nodes each announcing,
// fetching its plan and posting an event every 5 s for 30 s over 127.0.0.1.
// It asserts correctness only: every request answered as it should be (no
// 5xx, no tracker failure), every acknowledged event stored exactly once.
// Rates, latencies and RSS are the benchmark's to report, not a timed test's.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { buildFixture } from '../../bench/load/fixture.ts'
import { drive, KINDS, serverErrors } from '../../bench/load/fleet.ts'
import { type Child, startServe } from '../../bench/load/server.ts'
import { checkStored } from '../../bench/load/stored.ts'
import { tempDir } from '../support/tmp.ts'

const NODES = 200
const SECONDS = 30
const PERIOD_MS = 5000

const running: Child[] = []
afterEach(async () => {
  for (const c of running.splice(0)) await c.stop()
})

describe('soak and load, short form', () => {
  it(`${NODES} nodes every 5 s for ${SECONDS} s: every request answered, every acknowledged event stored`, async () => {
    const dir = await tempDir()
    const f = await buildFixture(dir, NODES)
    const serve = await startServe(f.store)
    running.push(serve)
    const r = await drive({
      url: serve.url,
      infoHash: f.infoHash,
      nodes: f.nodes,
      periodMs: PERIOD_MS,
      seconds: SECONDS,
    })

    // Every slot of the schedule was either sent or skipped because the same request was still in flight.
    expect(r.slots).toBe((NODES * SECONDS * 1000) / PERIOD_MS)
    for (const k of KINDS) expect(r.kinds[k].sent + r.kinds[k].late).toBe(r.slots)
    // Every request got its success reply: no 5xx, no 4xx, no tracker failure, no connection error.
    expect(serverErrors(r)).toBe(0)
    expect(r.kinds.announce.status).toEqual({ 200: r.kinds.announce.sent })
    expect(r.kinds.plan.status).toEqual({ 200: r.kinds.plan.sent })
    expect(r.kinds.event.status).toEqual({ 202: r.kinds.event.sent })
    for (const k of KINDS) expect(r.kinds[k].errors).toEqual({})

    // The announces were real: the tracker holds every node as a peer of the image's swarm.
    const q = `info_hash=${f.infoHash.replace(/../g, '%$&')}`
    const scrape = Buffer.from(await (await fetch(`${serve.url}/scrape?${q}`)).arrayBuffer()).toString('latin1')
    expect(scrape).toContain(`10:incompletei${NODES}e`)
    // The plans were real: a node's plan names the image and the node, and the fleet database
    // holds each simulated node once (its events by MAC before the plan and by name after it joined).
    const token = (await readFile(join(f.store, 'keys/admin.token'), 'utf8')).trim()
    const nodes = (await (
      await fetch(`${serve.url}/api/v1/nodes`, { headers: { authorization: `Bearer ${token}` } })
    ).json()) as { nodes: { id: string; lastSeen: string | null }[] }
    expect(nodes.nodes.map((x) => x.id).sort()).toEqual(f.nodes.map((x) => x.hostname).sort())
    const node = f.nodes[NODES - 1] as (typeof f.nodes)[0]
    const plan = (await (await fetch(`${serve.url}/api/v1/plan?mac=${node.mac}`)).json()) as {
      image: { name: string }
      node: { hostname: string }
    }
    expect(plan.image.name).toBe('loadimg')
    expect(plan.node.hostname).toBe(node.hostname)

    expect(await serve.stop()).toBe(0)
    const stored = checkStored(f.store, r.acked, r.unacked)
    expect(r.acked.size).toBe(r.kinds.event.sent)
    expect(stored.lost).toEqual([])
    expect(stored.duplicates).toBe(0)
    expect(stored.rows).toBe(r.acked.size + stored.unackedStored)
    // The check itself can fail: an acknowledgement the database never saw is reported lost.
    expect(checkStored(f.store, new Set(['node9999 0']), new Set()).lost).toEqual(['node9999 0'])
  }, 180_000)
})
