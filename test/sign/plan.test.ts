// Signed install plans end to end (docs/plan-signing.md): a real serve, a
// real man in the middle, real `imgswarm install --target-dir` clients. Each
// attack on the plan is refused with its code, before anything the plan
// names is fetched and with the target directory still empty.
import { generateKeyPairSync } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { PLAN_SIGNATURE_HEADER, PLAN_VALIDITY_MS, signPlan } from '../../common/plan-signature.ts'
import { loadOrCreateSigningKey } from '../../seeder/index.ts'
import { storedEvents } from '../support/events.ts'
import { isRoot } from '../support/tmp.ts'
import { capturePlan, installVia, type Mitm, manInTheMiddle, type Node, type PlanAnswer, signSuite } from './harness.ts'

const suite = signSuite('imgswarm-sign-', isRoot)

const NONCE = 'captured-nonce-0123456789'

function withSignature(a: PlanAnswer, sig: string | undefined): PlanAnswer {
  const headers = { ...a.headers }
  if (sig === undefined) delete headers[PLAN_SIGNATURE_HEADER]
  else headers[PLAN_SIGNATURE_HEADER] = sig
  return { ...a, headers }
}

/** Refused with `code`: exit 3, the target untouched, nothing but the plan fetched, the failure reported. */
async function expectRefused(node: Node, code: string, p: Mitm, name: string): Promise<void> {
  expect(node.run.status, node.run.stderr).toBe(3)
  expect(node.run.stderr).toContain(code)
  expect(node.entries).toEqual([])
  expect(p.paths.filter((x) => x !== '/api/v1/plan' && x !== '/api/v1/events')).toEqual([])
  const events = await storedEvents(suite.server.running.url, suite.server.store.root, name)
  expect(events.at(-1)).toMatchObject({ step: 'failed', code })
}

describe.runIf(isRoot)('signed install plans through a man in the middle', () => {
  it('accepts a genuinely signed plan passed through unchanged, and installs', async () => {
    suite.proxy = await manInTheMiddle(suite.server.running.url)
    const node = await installVia(suite.dir, suite.proxy.url, suite.server.pubkey, { name: 'ok' })
    expect(node.run.status, node.run.stderr).toBe(0)
    expect(await readFile(join(node.target, 'etc/hostname'), 'utf8')).toBe('n1\n')
    expect(node.run.stderr).not.toContain('clock:')
  })

  it('refuses a plan body changed after signing (IMGSWARM_ERR_PLAN_SIGNATURE)', async () => {
    suite.proxy = await manInTheMiddle(suite.server.running.url, {
      // Still valid JSON and the same plan: only the signature's body hash can tell.
      answer: (a) => ({ ...a, body: Buffer.from(a.body.toString().replace('"image"', '"image" ')) }),
    })
    const node = await installVia(suite.dir, suite.proxy.url, suite.server.pubkey, { hostname: 'n2', name: 'tampered' })
    await expectRefused(node, 'IMGSWARM_ERR_PLAN_SIGNATURE', suite.proxy, 'n2')
    expect(node.run.stderr).toContain('changed after it was signed')
  })

  it('refuses a plan signed by another key, even for this request (IMGSWARM_ERR_PLAN_SIGNATURE)', async () => {
    const rogue = generateKeyPairSync('ed25519').privateKey
    suite.proxy = await manInTheMiddle(suite.server.running.url, {
      answer: (a, q) => withSignature(a, signPlan(a.body, Object.fromEntries(q), rogue)),
    })
    const node = await installVia(suite.dir, suite.proxy.url, suite.server.pubkey, { hostname: 'n2', name: 'rogue' })
    await expectRefused(node, 'IMGSWARM_ERR_PLAN_SIGNATURE', suite.proxy, 'n2')
    expect(node.run.stderr).toContain('does not verify with the pinned key')
  })

  it('refuses an unsigned plan (IMGSWARM_ERR_PLAN_SIGNATURE)', async () => {
    suite.proxy = await manInTheMiddle(suite.server.running.url, { answer: (a) => withSignature(a, undefined) })
    const node = await installVia(suite.dir, suite.proxy.url, suite.server.pubkey, { hostname: 'n2', name: 'unsigned' })
    await expectRefused(node, 'IMGSWARM_ERR_PLAN_SIGNATURE', suite.proxy, 'n2')
    expect(node.run.stderr).toContain('unsigned')
  })

  it('replays a genuine plan captured with another nonce: refused (IMGSWARM_ERR_PLAN_REPLAY)', async () => {
    const captured = await capturePlan(suite.server.running.url, `hostname=n2&nonce=${NONCE}`)
    expect(captured.status).toBe(200)
    suite.proxy = await manInTheMiddle(suite.server.running.url, { answer: () => captured })
    const node = await installVia(suite.dir, suite.proxy.url, suite.server.pubkey, { hostname: 'n2', name: 'replay' })
    await expectRefused(node, 'IMGSWARM_ERR_PLAN_REPLAY', suite.proxy, 'n2')
    expect(node.run.stderr).toContain(`it carries nonce ${NONCE}`)
  })

  it('refuses a genuine plan whose window has passed and that answers another nonce (IMGSWARM_ERR_PLAN_EXPIRED)', async () => {
    // What the real server signed an hour ago for this node, with its own key (we cannot wait an hour).
    const key = (await loadOrCreateSigningKey(suite.server.store.keysDir)).privateKey
    const captured = await capturePlan(suite.server.running.url, `hostname=n2&nonce=${NONCE}`)
    const old = signPlan(captured.body, { hostname: 'n2', nonce: NONCE }, key, Date.now() - 60 * 60_000)
    suite.proxy = await manInTheMiddle(suite.server.running.url, { answer: () => withSignature(captured, old) })
    const node = await installVia(suite.dir, suite.proxy.url, suite.server.pubkey, { hostname: 'n2', name: 'expired' })
    await expectRefused(node, 'IMGSWARM_ERR_PLAN_EXPIRED', suite.proxy, 'n2')
    expect(node.run.stderr).toMatch(/it expired at \S+, 4[45] min before this node's clock/)
    expect(PLAN_VALIDITY_MS).toBe(15 * 60_000)
  })

  it("refuses another node's plan, signed for this request's nonce (IMGSWARM_ERR_PLAN_NOT_FOR_NODE: hostname)", async () => {
    // The man in the middle asks the real server for n2's plan with this node's nonce.
    suite.proxy = await manInTheMiddle(suite.server.running.url, { query: (q) => q.set('hostname', 'n2') })
    const node = await installVia(suite.dir, suite.proxy.url, suite.server.pubkey, {
      hostname: 'n1',
      name: 'other-host',
    })
    await expectRefused(node, 'IMGSWARM_ERR_PLAN_NOT_FOR_NODE', suite.proxy, 'n1')
    expect(node.run.stderr).toContain('it names hostname n2, this node asked as hostname n1')
  })

  it("refuses another node's plan, signed for this request's nonce (IMGSWARM_ERR_PLAN_NOT_FOR_NODE: mac)", async () => {
    suite.proxy = await manInTheMiddle(suite.server.running.url, { query: (q) => q.set('mac', '52:54:00:00:00:02') })
    const node = await installVia(suite.dir, suite.proxy.url, suite.server.pubkey, {
      hostname: 'n1',
      mac: '52:54:00:00:00:01',
      name: 'other-mac',
    })
    await expectRefused(node, 'IMGSWARM_ERR_PLAN_NOT_FOR_NODE', suite.proxy, 'n1')
    expect(node.run.stderr).toContain('it names mac 52:54:00:00:00:02, this node asked as mac 52:54:00:00:00:01')
  })

  it('refuses a plan signed for another static address (IMGSWARM_ERR_PLAN_NOT_FOR_NODE: ip)', async () => {
    suite.proxy = await manInTheMiddle(suite.server.running.url, { query: (q) => q.set('ip', '10.0.0.6') })
    const node = await installVia(suite.dir, suite.proxy.url, suite.server.pubkey, {
      hostname: 'n1',
      ip: '10.0.0.5/24,10.0.0.1',
      name: 'other-ip',
    })
    await expectRefused(node, 'IMGSWARM_ERR_PLAN_NOT_FOR_NODE', suite.proxy, 'n1')
    expect(node.run.stderr).toContain('it names ip 10.0.0.6, this node asked as ip 10.0.0.5')
  })
})
