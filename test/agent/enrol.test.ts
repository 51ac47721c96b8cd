// Enrolment and node credentials (docs/agent.md, docs/security.md) on a real
// serve with a real install client: the install makes the node's key in the
// installed tree (0600), enrols it with the one-time token of its signed
// plan, and installs the agent unit because the image has systemd. Then the
// agent API accepts exactly the requests signed with that key: one test per
// refusal (no signature, wrong key, tampered request, replay, old clock,
// reused token, token for another MAC, enrol without proof of possession,
// revoked by a reimage request).
import { generateKeyPairSync } from 'node:crypto'
import { lstat, mkdir, readFile, readlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { authorization, generateNodeKey, loadNodeKey } from '../../common/node-auth.ts'
import { type ImageServer, imageServer, installNode, nodeArgs } from '../install/harness.ts'
import { isRoot, tempDir } from '../support/tmp.ts'

const PLANS = `
[defaults]
image = "base"
post = "none"

[[node]]
hostname = "n1"

[[node]]
hostname = "n2"
mac = "52:54:00:aa:bb:01"
`
const ROOT = join(import.meta.dirname, '../..')

let server: ImageServer | undefined
afterEach(async () => {
  await server?.running.stop()
  server = undefined
})

type Key = ReturnType<typeof loadNodeKey>

async function call(
  url: string,
  path: string,
  o: { key?: Key; method?: string; body?: unknown; header?: string } = {},
) {
  const method = o.method ?? (o.body === undefined ? 'GET' : 'POST')
  const text = o.body === undefined ? undefined : JSON.stringify(o.body)
  const headers: Record<string, string> = {}
  if (text !== undefined) headers['content-type'] = 'application/json'
  const auth = o.header ?? (o.key ? authorization(o.key, method, path, text) : undefined)
  if (auth !== undefined) headers.authorization = auth
  const res = await fetch(`${url}${path}`, { method, headers, ...(text === undefined ? {} : { body: text }) })
  const json = (await res.json()) as Record<string, unknown> & { error?: { code: string; message: string } }
  return { status: res.status, json, header: auth }
}

async function planToken(url: string, q: string): Promise<string> {
  const res = await fetch(`${url}/api/v1/plan?${q}`)
  expect(res.status).toBe(200)
  const plan = (await res.json()) as { enrolToken?: string }
  expect(plan.enrolToken).toMatch(/^v1\./)
  return plan.enrolToken as string
}

describe.runIf(isRoot)('enrolment and node credentials', () => {
  it('the install enrols the node; only requests signed with its key pass', async () => {
    const dir = await tempDir('imgswarm-enrol-')
    server = await imageServer(dir, {
      dataMb: 1,
      plans: PLANS,
      tree: async (root) => {
        await mkdir(join(root, 'lib/systemd'), { recursive: true })
        await writeFile(join(root, 'lib/systemd/systemd'), '#!/bin/sh\n', { mode: 0o755 })
      },
    })
    const url = server.running.url
    const target = join(dir, 'target')
    const r = await installNode(nodeArgs({ url, pubkey: server.pubkey, targetDir: target, hostname: 'n1' }), {
      IMGSWARM_AGENT_BUNDLE: join(ROOT, 'dist/imgswarm.mjs'),
      IMGSWARM_AGENT_NODE: process.execPath,
    }).result
    expect(r.status, r.stderr).toBe(0)
    expect(r.stderr).toMatch(/enrolled as n1 \(key [0-9a-f]{32}\); imgswarm-agent.service installed/)

    // The credential in the installed system, readable by root only.
    for (const f of ['etc/imgswarm/node.key', 'etc/imgswarm/agent.json']) {
      expect(((await lstat(join(target, f))).mode & 0o777).toString(8), f).toBe('600')
    }
    const agent = JSON.parse(await readFile(join(target, 'etc/imgswarm/agent.json'), 'utf8'))
    expect(agent).toMatchObject({ schema: 'imgswarm/agent@1', server: url, node: 'n1', image: 'base@1', ca: null })
    const key = loadNodeKey(await readFile(join(target, 'etc/imgswarm/node.key'), 'utf8'))
    // The unit, enabled, with its runtime.
    const unit = await readFile(join(target, 'etc/systemd/system/imgswarm-agent.service'), 'utf8')
    expect(unit).toContain('ExecStart=/opt/imgswarm/node /opt/imgswarm/imgswarm.mjs agent')
    expect(await readlink(join(target, 'etc/systemd/system/multi-user.target.wants/imgswarm-agent.service'))).toBe(
      '../imgswarm-agent.service',
    )
    expect((await lstat(join(target, 'opt/imgswarm/node'))).mode & 0o111).not.toBe(0)
    expect((await lstat(join(target, 'opt/imgswarm/imgswarm.mjs'))).size).toBeGreaterThan(100_000)

    // A good signature is accepted.
    const ok = await call(url, '/api/v1/agent/whoami', { key })
    expect(ok.status).toBe(200)
    expect(ok.json).toMatchObject({ node: 'n1', keyId: key.keyId, image: 'base@1' })

    const refused = async (res: Awaited<ReturnType<typeof call>>, re: RegExp) => {
      expect(res.status, JSON.stringify(res.json)).toBe(401)
      expect(res.json.error?.code).toBe('IMGSWARM_ERR_NODE_AUTH')
      expect(res.json.error?.message).toMatch(re)
    }
    // No signature.
    await refused(await call(url, '/api/v1/agent/whoami'), /no valid "Authorization/)
    await refused(await call(url, '/api/v1/agent/jobs', { header: 'Bearer x' }), /no valid "Authorization/)
    // A key the server never registered.
    await refused(
      await call(url, '/api/v1/agent/whoami', { key: loadNodeKey(generateNodeKey().privatePem) }),
      /unknown/,
    )
    // The node's key id, signed by another key.
    const other = generateKeyPairSync('ed25519').privateKey
    await refused(await call(url, '/api/v1/agent/whoami', { key: { key: other, keyId: key.keyId } }), /bad signature/)
    // A signature for another path.
    const forJobs = authorization(key, 'GET', '/api/v1/agent/jobs', undefined)
    await refused(await call(url, '/api/v1/agent/whoami', { header: forJobs }), /bad signature/)
    // Replay: the same signed request twice.
    const once = authorization(key, 'GET', '/api/v1/agent/whoami', undefined)
    expect((await call(url, '/api/v1/agent/whoami', { header: once })).status).toBe(200)
    await refused(await call(url, '/api/v1/agent/whoami', { header: once }), /replay/)
    // A timestamp outside the window, and one from before the server started.
    const stale = authorization(key, 'GET', '/api/v1/agent/whoami', undefined, Date.now() - 10 * 60_000)
    await refused(await call(url, '/api/v1/agent/whoami', { header: stale }), /off the server's clock/)
    // Inside the window but signed before this server started (it started within this test, < 3 min ago).
    const early = authorization(key, 'GET', '/api/v1/agent/whoami', undefined, Date.now() - 4 * 60_000)
    await refused(await call(url, '/api/v1/agent/whoami', { header: early }), /before this server started/)

    // The install's token is spent.
    const fresh = generateNodeKey()
    const enrolBody = (token: string, extra: Record<string, unknown> = {}) => ({
      token,
      hostname: 'n1',
      publicKey: fresh.publicRaw,
      image: 'base@1',
      ...extra,
    })
    const freshKey = loadNodeKey(fresh.privatePem)
    // Enrol needs proof of possession: unsigned, or signed by another key, is refused.
    const t1 = await planToken(url, 'hostname=n1')
    await refused(await call(url, '/api/v1/agent/enrol', { body: enrolBody(t1) }), /no valid/)
    await refused(
      await call(url, '/api/v1/agent/enrol', { body: enrolBody(t1), key: loadNodeKey(generateNodeKey().privatePem) }),
      /bad signature/,
    )
    // A fresh plan's token enrols once; the second use is refused.
    const first = await call(url, '/api/v1/agent/enrol', { body: enrolBody(t1), key: freshKey })
    expect(first.status, JSON.stringify(first.json)).toBe(201)
    expect(first.json).toEqual({ node: 'n1', keyId: fresh.keyId })
    const again = await call(url, '/api/v1/agent/enrol', { body: enrolBody(t1), key: freshKey })
    expect(again.status).toBe(403)
    expect(again.json.error?.code).toBe('IMGSWARM_ERR_ENROL_REFUSED')
    expect(again.json.error?.message).toMatch(/already used/)
    // The new key replaced the install's.
    await refused(await call(url, '/api/v1/agent/whoami', { key }), /unknown or was revoked/)
    expect((await call(url, '/api/v1/agent/whoami', { key: freshKey })).status).toBe(200)

    // A token bound to one MAC does not enrol another; a forged token is refused too.
    const t2 = await planToken(url, 'mac=52:54:00:aa:bb:01')
    const n2 = generateNodeKey()
    const n2Key = loadNodeKey(n2.privatePem)
    const n2Body = (token: string, mac: string) => ({ token, mac, publicKey: n2.publicRaw, image: 'base@1' })
    const wrongMac = await call(url, '/api/v1/agent/enrol', { body: n2Body(t2, '52:54:00:aa:bb:02'), key: n2Key })
    expect(wrongMac.status).toBe(403)
    expect(wrongMac.json.error?.message).toMatch(/another MAC/)
    const forged = `${t2.slice(0, -2)}${t2.endsWith('AA') ? 'AB' : 'AA'}`
    const bad = await call(url, '/api/v1/agent/enrol', { body: n2Body(forged, '52:54:00:aa:bb:01'), key: n2Key })
    expect(bad.status).toBe(403)
    expect(bad.json.error?.message).toMatch(/not one this server issued/)
    const right = await call(url, '/api/v1/agent/enrol', { body: n2Body(t2, '52-54-00-AA-BB-01'), key: n2Key })
    expect(right.status, JSON.stringify(right.json)).toBe(201)
    expect(right.json.node).toBe('n2')

    // A reimage request revokes the credential at once.
    server.running.server.fleet?.requestReimage('n1')
    await refused(await call(url, '/api/v1/agent/whoami', { key: freshKey }), /revoked/)
    expect((await call(url, '/api/v1/agent/whoami', { key: n2Key })).status).toBe(200)
  }, 180_000)
})
