// Plans only for nodes the cluster config knows: an unknown MAC gets 404
// IMGSWARM_ERR_UNKNOWN_NODE (and no signed anything), unless a group has
// auto_enrol, which then takes the node in and signs its plan for it.
import { createPublicKey } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { checkPlanSignature } from '../../client/plan/signature.ts'
import { PLAN_SIGNATURE_HEADER } from '../../common/plan-signature.ts'
import { type ImageServer, imageServer } from '../install/harness.ts'
import { isRoot, tempDir } from '../support/tmp.ts'
import { installVia } from './harness.ts'

const KNOWN = `
[global]
image = "base"
post = "none"

[[group]]
name = "known"
hosts = ["n1"]
`
const OPEN = `${KNOWN}
[[group]]
name = "new"
priority = 0
auto_enrol = true
`
const MAC = '52:54:00:00:00:99'
const NONCE = 'unknown-node-nonce-0123456789'

let server: ImageServer | undefined
afterEach(async () => {
  await server?.running.stop()
  server = undefined
})

async function clusterServer(dir: string, cluster: string): Promise<ImageServer> {
  return imageServer(dir, { dataMb: 1, plans: '', files: { 'cluster.toml': cluster } })
}

describe.runIf(isRoot)('plans for unknown nodes', () => {
  it('refuses an unknown MAC with IMGSWARM_ERR_UNKNOWN_NODE; the node installs nothing', async () => {
    const dir = await tempDir()
    server = await clusterServer(dir, KNOWN)
    const res = await fetch(`${server.running.url}/api/v1/plan?mac=${MAC}&hostname=stranger&nonce=${NONCE}`)
    expect(res.status).toBe(404)
    expect(res.headers.get(PLAN_SIGNATURE_HEADER)).toBeNull()
    const body = (await res.json()) as { error: { code: string; message: string; hint: string } }
    expect(body.error.code).toBe('IMGSWARM_ERR_UNKNOWN_NODE')
    expect(body.error.message).toContain(`mac ${MAC}`)
    expect(body.error.hint).toContain(`imgswarm node adopt ${MAC} --group GROUP`)
    // A known node still gets its signed plan from the same server.
    expect((await fetch(`${server.running.url}/api/v1/plan?hostname=n1`)).status).toBe(200)

    const node = await installVia(dir, server.running.url, server.pubkey, { hostname: 'stranger', mac: MAC, name: 'u' })
    expect(node.run.status).not.toBe(0)
    expect(node.run.stderr).toContain('IMGSWARM_ERR_NO_PLAN')
    expect(node.run.stderr).toContain('not in the cluster config or plans file')
    expect(node.entries).toEqual([])
  })

  it('with an auto_enrol group: the unknown MAC is adopted into it and gets a plan signed for it', async () => {
    const dir = await tempDir()
    server = await clusterServer(dir, OPEN)
    const res = await fetch(`${server.running.url}/api/v1/plan?mac=${MAC}&nonce=${NONCE}`)
    expect(res.status).toBe(200)
    const pub = createPublicKey(await readFile(server.pubkey))
    const check = checkPlanSignature(
      Buffer.from(await res.arrayBuffer()),
      res.headers.get(PLAN_SIGNATURE_HEADER),
      { mac: MAC, nonce: NONCE },
      pub,
      Date.now(),
    )
    expect(check.claims).toMatchObject({ mac: MAC, hostname: null, nonce: NONCE })
    expect(server.running.server.fleet?.node(MAC)).toMatchObject({ mac: MAC, group: 'new' })

    const node = await installVia(dir, server.running.url, server.pubkey, {
      hostname: 'stranger',
      mac: '52:54:00:00:00:98',
      name: 'e',
    })
    expect(node.run.status, node.run.stderr).toBe(0)
    expect(await readFile(join(node.target, 'etc/hostname'), 'utf8')).toBe('stranger\n')
    expect(server.running.server.fleet?.node('52:54:00:00:00:98')).toMatchObject({ group: 'new' })
  })
})
