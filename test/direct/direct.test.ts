// Direct (secret) overrides, docs/secrets.md, end to end on a real serve with
// TLS and a real install client: the secret arrives in the installed tree,
// but never through the swarm (not seeded, not on the tracker, no torrent or
// web seed for nodes), only from the ticket route, with a ticket bound to the
// node's address and good for DOWNLOADS_PER_TICKET downloads. Without TLS the
// plan is refused before the node touches anything.
import { randomBytes } from 'node:crypto'
import { readdir, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { pinnedFetch } from '../../common/https.ts'
import { DOWNLOADS_PER_TICKET } from '../../seeder/direct/index.ts'
import { type ImageServer, imageServer, installNode, nodeArgs, type Override } from '../install/harness.ts'
import { isRoot, tempDir } from '../support/tmp.ts'
import { startTlsServe } from '../tls/harness.ts'
import { announcePath } from '../tracker/helpers.ts'

const PLANS = `
[defaults]
image = "base"
overrides = ["site", { name = "secrets", direct = true }]
post = "none"

[[node]]
hostname = "n1"
`
const SECRET = 'ssh-ed25519 AAAA-not-for-the-swarm\n'
const OVERRIDES: Override[] = [
  { name: 'site', files: { 'etc/motd': 'site motd\n' } },
  { name: 'secrets', files: { 'etc/imgswarm-test/secret.key': SECRET, 'etc/motd': 'secret motd\n' } },
]

let server: ImageServer | undefined
afterEach(async () => {
  await server?.running.stop()
  server = undefined
})

describe.runIf(isRoot)('direct overrides', () => {
  it('reach the node over TLS with its ticket, and never the swarm', async () => {
    const dir = await tempDir('imgswarm-direct-')
    let ca = ''
    server = await imageServer(dir, {
      dataMb: 4,
      overrides: OVERRIDES,
      plans: PLANS,
      start: async (store) => {
        const r = await startTlsServe(store)
        ca = r.ca
        return r
      },
    })
    const url = server.running.url
    const get = pinnedFetch(await readFile(ca, 'utf8'))
    const target = join(dir, 'target')
    const node = installNode([
      ...nodeArgs({ url, pubkey: server.pubkey, targetDir: target, hostname: 'n1', json: true }),
      ...['--ca', ca],
    ])
    const r = await node.result
    expect(r.status, r.stderr).toBe(0)
    const summary = JSON.parse(r.stdout) as { overrides: string[] }
    expect(summary.overrides).toEqual(['site@1', 'secrets@1 (direct)'])
    expect(await readFile(join(target, 'etc/imgswarm-test/secret.key'), 'utf8')).toBe(SECRET)
    // Applied after the swarm overrides: its motd wins.
    expect(await readFile(join(target, 'etc/motd'), 'utf8')).toBe('secret motd\n')
    expect(r.stderr).toContain('direct override secrets@1')
    // No staged copy is left in the installed tree.
    expect((await readdir(target)).filter((n) => n.startsWith('.imgswarm'))).toEqual([])

    // Never in the swarm: not seeded, refused by the tracker, no torrent or web seed for nodes.
    const secret = await server.store.packed('override', 'secrets', '1')
    const site = await server.store.packed('override', 'site', '1')
    const hash = secret?.manifest.torrent.infoHash as string
    const seeded = server.running.server.seeder.status().torrents.map((t) => t.ref)
    expect(seeded).toContain('site@1')
    expect(seeded).not.toContain('secrets@1')
    const announce = async (infoHash: string) =>
      Buffer.from(await (await get(`${url}${announcePath({ infoHash, peer: 7, port: 6881 })}`)).arrayBuffer()).toString(
        'latin1',
      )
    expect(await announce(hash)).toContain('failure reason')
    expect(await announce(site?.manifest.torrent.infoHash as string)).not.toContain('failure reason')
    for (const path of ['/api/v1/overrides/secrets/1/torrent', '/webseed/overrides/secrets@1.tar']) {
      const res = await get(`${url}${path}`)
      expect(res.status, path).toBe(404)
      expect(JSON.stringify(await res.json())).toContain('direct override')
    }

    // The ticket route: a fresh plan's ticket, DOWNLOADS_PER_TICKET archive downloads, bearer only.
    const planRes = await get(`${url}/api/v1/plan?hostname=n1&nonce=${randomBytes(18).toString('base64url')}`)
    expect(planRes.status).toBe(200)
    const plan = (await planRes.json()) as { ticket: string; direct: { archive: string; size: number }[] }
    expect(plan.direct).toHaveLength(1)
    const archive = `${url}${plan.direct[0]?.archive}`
    const as = (ticket?: string) => get(archive, ticket ? { headers: { authorization: `Bearer ${ticket}` } } : {})
    const code = async (res: Response) => ((await res.json()) as { error: { code: string } }).error.code
    const none = await as()
    expect(none.status).toBe(403)
    expect(await code(none)).toBe('IMGSWARM_ERR_TICKET_REFUSED')
    const forged = await as(randomBytes(32).toString('base64url'))
    expect(forged.status).toBe(403)
    expect(await code(forged)).toBe('IMGSWARM_ERR_TICKET_REFUSED')
    for (let i = 0; i < DOWNLOADS_PER_TICKET; i++) {
      const ok = await as(plan.ticket)
      expect(ok.status).toBe(200)
      expect((await ok.arrayBuffer()).byteLength).toBe(plan.direct[0]?.size)
    }
    const spent = await as(plan.ticket)
    expect(spent.status).toBe(403)
    expect(JSON.stringify(await spent.json())).toContain('already downloaded')
  }, 120_000)

  it('without TLS, the plan is refused and the node touches nothing', async () => {
    const dir = await tempDir('imgswarm-direct-http-')
    server = await imageServer(dir, { dataMb: 1, overrides: OVERRIDES, plans: PLANS })
    const target = join(dir, 'target')
    const r = await installNode(
      nodeArgs({ url: server.running.url, pubkey: server.pubkey, targetDir: target, hostname: 'n1' }),
    ).result
    expect(r.status).not.toBe(0)
    expect(r.stderr).toContain('IMGSWARM_ERR_DIRECT_INSECURE')
    expect(r.stderr).toContain('serve.tls')
    const made = await stat(target).then(
      async () => readdir(target),
      () => [],
    )
    expect(made).toEqual([])
  }, 60_000)
})
