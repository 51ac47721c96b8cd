// Per-source rate limits on a real serve (docs/plan-signing.md#rate-limits).
// Requests come from a second loopback address, 127.0.0.2 (a client socket
// bound to it): the default exemption is all of loopback (127.0.0.0/8, ::1),
// so the tests that need a limited source exempt only 127.0.0.1. The
// waits are Retry-After's (whole seconds): they prove recovery, not speed.
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Agent } from 'undici'
import { afterEach, describe, expect, it } from 'vitest'
import { fetchVerifiedPlan, loadPubkey } from '../../client/index.ts'
import { createReporter } from '../../client/report/index.ts'
import { type Config, loadConfig } from '../../common/config.ts'
import { isImgswarmError } from '../../common/errors.ts'
import { packedStore, type Running, startServe } from '../serve/harness.ts'
import { storedEvents } from '../support/events.ts'
import { tempDir } from '../support/tmp.ts'

const running: Running[] = []
const agents: Agent[] = []
afterEach(async () => {
  for (const r of running.splice(0)) await r.stop()
  for (const a of agents.splice(0)) await a.close()
})

/** fetch from a socket bound to `localAddress`. */
function fetchFrom(localAddress: string): typeof fetch {
  const dispatcher = new Agent({ localAddress })
  agents.push(dispatcher)
  return (input, init) => fetch(input, { ...init, dispatcher } as RequestInit)
}

async function serve(rateLimit: Config['serve']['rateLimit']) {
  const dir = await tempDir()
  const p = await packedStore(dir, 1)
  await writeFile(
    join(p.store.root, 'plans.toml'),
    '[defaults]\nimage = "img"\npost = "none"\n\n[[node]]\nhostname = "n1"\n',
  )
  const r = await startServe(p.store, { rateLimit })
  running.push(r)
  return { ...r, root: p.store.root, pub: join(p.store.root, 'keys', 'manifest-signing.pub') }
}

const TIGHT = { plan: { rate: 1, burst: 3 }, events: { rate: 1, burst: 2 }, exempt: ['127.0.0.1'] }
const EVENT = JSON.stringify({ node: 'n1', step: 'download', percent: 10 })

describe('per-source rate limits', () => {
  it('a limited source gets 429 with Retry-After after its burst, and recovers; 127.0.0.1 is exempt meanwhile', async () => {
    const r = await serve(TIGHT)
    const from2 = fetchFrom('127.0.0.2')
    const plan = `${r.url}/api/v1/plan?hostname=n1`
    const statuses: number[] = []
    for (let i = 0; i < 3; i++) statuses.push((await from2(plan)).status)
    expect(statuses).toEqual([200, 200, 200])
    const limited = await from2(plan)
    expect(limited.status).toBe(429)
    const retry = Number(limited.headers.get('retry-after'))
    expect(retry).toBeGreaterThanOrEqual(1)
    const body = (await limited.json()) as { error: { code: string; message: string } }
    expect(body.error.code).toBe('IMGSWARM_ERR_TOO_MANY_REQUESTS')
    expect(body.error.message).toContain('too many install plan requests from this address')
    // The exempt address is not affected by 127.0.0.2's empty bucket.
    for (let i = 0; i < 5; i++) expect((await fetch(plan)).status).toBe(200)
    // Waiting as told refills the bucket.
    await new Promise((res) => setTimeout(res, retry * 1000))
    expect((await from2(plan)).status).toBe(200)
    expect((await from2(plan)).status).toBe(429)
  })

  it('POST /api/v1/events has its own bucket', async () => {
    const r = await serve(TIGHT)
    const from2 = fetchFrom('127.0.0.2')
    const post = () =>
      from2(`${r.url}/api/v1/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: EVENT,
      }).then((x) => x.status)
    expect([await post(), await post(), await post()]).toEqual([202, 202, 429])
    // The plan bucket of the same source is untouched.
    expect((await from2(`${r.url}/api/v1/plan?hostname=n1`)).status).toBe(200)
  })

  it('by default all of loopback is exempt: 127.0.0.2 is never limited', async () => {
    const r = await serve({ ...TIGHT, exempt: ['127.0.0.0/8', '::1'] })
    const from2 = fetchFrom('127.0.0.2')
    for (let i = 0; i < 8; i++) expect((await from2(`${r.url}/api/v1/plan?hostname=n1`)).status).toBe(200)
    expect(loadConfig({ config: 'none' }, {}).serve.rateLimit?.exempt).toEqual(['127.0.0.0/8', '::1/128'])
  })

  it('the install client waits as Retry-After says, then gets its plan', async () => {
    // rate 0.25/s: an empty bucket says Retry-After: 4, far above the client's 50 ms backoff.
    const r = await serve({ ...TIGHT, plan: { rate: 0.25, burst: 1 } })
    const from2 = fetchFrom('127.0.0.2')
    expect((await from2(`${r.url}/api/v1/plan?hostname=n1`)).status).toBe(200)
    const lines: string[] = []
    const cfg = {
      server: r.url,
      pubkey: loadPubkey(r.pub, 'test'),
      hostname: 'n1',
      debug: false,
      // Two attempts: without Retry-After the second would come after 50 ms and be refused too.
      retry: { attempts: 2, maxDelayMs: 50 },
      warnings: [],
    }
    const started = Date.now()
    const v = await fetchVerifiedPlan(cfg, { fetchImpl: from2, onStatus: (l) => lines.push(l) }).catch((e: unknown) => {
      throw isImgswarmError(e) ? new Error(`${e.code}: ${e.message}\n${lines.join('\n')}`) : e
    })
    expect(v.plan.image.name).toBe('img')
    expect(lines.find((l) => l.includes('429'))).toMatch(
      /answered 429 \(too many requests\), retrying in [34](\.\d)? s/,
    )
    expect(Date.now() - started).toBeGreaterThanOrEqual(3000)
  })
})

describe('serve.rate_limit in the config file', () => {
  it('refuses bad values with IMGSWARM_ERR_CONFIG naming the key', async () => {
    const dir = await tempDir()
    const bad = async (toml: string) => {
      const file = join(dir, 'c.toml')
      await writeFile(file, toml)
      try {
        loadConfig({ config: file }, {})
      } catch (e) {
        return isImgswarmError(e) ? `${e.code} ${e.message}` : String(e)
      }
      return 'accepted'
    }
    expect(await bad('[serve.rate_limit]\nplan_rate = -1\n')).toMatch(
      /IMGSWARM_ERR_CONFIG .*serve\.rate_limit\.plan_rate must be a number from 0/,
    )
    expect(await bad('[serve.rate_limit]\nevents_burst = 1.5\n')).toMatch(
      /serve\.rate_limit\.events_burst must be an integer/,
    )
    expect(await bad('[serve.rate_limit]\nplan = 5\n')).toMatch(/serve\.rate_limit\.plan: unknown key/)
    expect(await bad('[serve.rate_limit]\nexempt = ["10.0.0.0/33"]\n')).toMatch(
      /IMGSWARM_ERR_CONFIG .*serve\.rate_limit\.exempt: "10\.0\.0\.0\/33" is not a network: the prefix length must be 0 to 32/,
    )
    expect(await bad('[serve.rate_limit]\nexempt = ["nonsense"]\n')).toMatch(/is not an IP address/)
    expect(await bad('[serve]\nrate_limit = 3\n')).toMatch(/serve\.rate_limit must be a table/)
    const ok = join(dir, 'ok.toml')
    await writeFile(ok, '[serve.rate_limit]\nplan_rate = 0\nexempt = ["10.0.0.0/8", "fd00::/8"]\n')
    expect(loadConfig({ config: ok }, {}).serve.rateLimit).toEqual({
      plan: { rate: 0, burst: 2000 },
      events: { rate: 1000, burst: 4000 },
      exempt: ['10.0.0.0/8', 'fd00::/8'],
    })
  })
})

describe('the install client reporter under the events limit', () => {
  it('keeps rate-limited events and delivers them all, in order, after Retry-After', async () => {
    const r = await serve({ ...TIGHT, events: { rate: 2, burst: 2 } })
    const troubles: string[] = []
    const reporter = createReporter({
      url: r.url,
      node: 'n1',
      fetchImpl: fetchFrom('127.0.0.2'),
      onTrouble: (m) => troubles.push(m),
    })
    const steps = ['config', 'disks', 'download', 'extract', 'overrides', 'identity'] as const
    for (const s of steps) reporter.step(s)
    expect(await reporter.flush(30_000)).toBe(true)
    reporter.close()
    expect(reporter.sent).toBe(steps.length)
    expect(troubles.some((t) => t.includes('rate-limiting this address (429)'))).toBe(true)
    const stored = (await storedEvents(r.url, r.root, 'n1')).map((e) => e.step)
    expect(stored).toEqual([...steps])
  })
})
