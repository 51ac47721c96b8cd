// One node, `--target-dir` mode, against a real `serve`: the tree arrives in
// place and verified, overrides stack in plan order, the node gets its
// identity, its post-install script runs in a chroot, and every step shows
// up on the server. Also: a server with another key, or a forged manifest
// behind a signed plan, changes nothing; an unreachable server is waited for.
import { readdir, readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { loadOrCreateSigningKey, Store } from '../../seeder/index.ts'
import { freePort } from '../serve/harness.ts'
import { storedEvents } from '../support/events.ts'
import { isRoot, tempDir } from '../support/tmp.ts'
import { type ImageServer, imageServer, installNode, nodeArgs, type Override } from './harness.ts'
import { describeTree, diffTrees } from './tree.ts'

const PLANS = `
[defaults]
image = "base"
overrides = ["site"]
post = "none"

[[node]]
hostname = "n1"
overrides = ["site", "n1"]
`
const OVERRIDES: Override[] = [
  { name: 'site', files: { 'etc/motd': 'site motd\n', 'etc/site.conf': 'site=1\n' } },
  { name: 'n1', files: { 'etc/motd': 'n1 motd\n' } },
]
const IDENTITY_FILES = ['etc/hostname', 'etc/hosts', 'etc/machine-id', 'etc/motd', 'etc/ssh', 'etc']

let server: ImageServer | undefined
afterEach(async () => {
  await server?.running.stop()
  server = undefined
})

describe.runIf(isRoot)('imgswarm install --target-dir', () => {
  it('installs the image in place, applies overrides in order, identity and post-install, and reports every step', async () => {
    const dir = await tempDir()
    server = await imageServer(dir, { dataMb: 8, overrides: OVERRIDES, plans: PLANS })
    const target = join(dir, 'target')
    const node = installNode(
      nodeArgs({ url: server.running.url, pubkey: server.pubkey, targetDir: target, hostname: 'n1', json: true }),
    )
    const r = await node.result
    expect(r.stderr).not.toMatch(/error/i)
    expect(r.status, r.stderr).toBe(0)
    const summary = JSON.parse(r.stdout) as {
      inPlace: boolean
      overrides: string[]
      image_stats: { piecesTotal: number }
    }
    expect(summary.inPlace).toBe(true)
    expect(summary.overrides).toEqual(['site@1', 'n1@1'])

    // The image, byte for byte and with its metadata, except what identity and overrides change.
    const skip = new Set(IDENTITY_FILES.filter((p) => p !== 'etc'))
    const want = await describeTree(join(dir, 'tree'), skip)
    const got = await describeTree(target, new Set([...skip, 'etc/site.conf', 'etc/post-mark']))
    want.delete('etc')
    got.delete('etc')
    // The node's credential, made by the enrol step (docs/agent.md), is the install's, not the image's.
    for (const f of ['agent.json', 'node.key']) {
      expect(got.get(`etc/imgswarm/${f}`)?.mode, f).toBe(0o600)
      got.delete(`etc/imgswarm/${f}`)
    }
    want.delete('etc/imgswarm')
    got.delete('etc/imgswarm')
    expect(diffTrees(want, got)).toEqual([])

    // Overrides: later wins; identity; the post-install script ran in the chroot with the node's variables.
    expect(await readFile(join(target, 'etc/motd'), 'utf8')).toBe('n1 motd\n')
    expect(await readFile(join(target, 'etc/site.conf'), 'utf8')).toBe('site=1\n')
    expect(await readFile(join(target, 'etc/hostname'), 'utf8')).toBe('n1\n')
    expect(await readFile(join(target, 'etc/hosts'), 'utf8')).toMatch(/^127\.0\.1\.1\s+n1\b/m)
    expect((await stat(join(target, 'etc/machine-id'))).size).toBe(0)
    expect(await readFile(join(target, 'etc/ssh/ssh_host_ed25519_key'), 'utf8').catch(() => 'gone')).not.toContain(
      'GOLDEN',
    )
    expect(await readFile(join(target, 'etc/post-mark'), 'utf8')).toBe('n1\n')
    expect(r.stderr).toContain('post-install ran for n1 image base')
    // Nothing of ours is left behind.
    expect(await readdir(target)).not.toContain('.imgswarm-install')

    const steps = (await storedEvents(server.running.url, server.store.root, 'n1'))
      .filter((e) => e.percent === undefined)
      .map((e) => e.step)
    expect(steps).toEqual(['config', 'disks', 'download', 'extract', 'overrides', 'identity', 'done', 'post'])
  })

  it('refuses a server signed by another key before touching the target', async () => {
    const dir = await tempDir()
    server = await imageServer(dir, { dataMb: 1, plans: PLANS, overrides: OVERRIDES })
    const other = await imageServer(join(dir, 'other'), { dataMb: 1, plans: PLANS, overrides: OVERRIDES })
    await other.running.stop()
    const target = join(dir, 'target')
    const r = await installNode(
      nodeArgs({ url: server.running.url, pubkey: other.pubkey, targetDir: target, hostname: 'n1' }),
    ).result
    // The plan's own signature fails first (docs/plan-signing.md): nothing it names is even fetched.
    expect(r.status, r.stderr).toBe(3)
    expect(r.stderr).toContain('IMGSWARM_ERR_PLAN_SIGNATURE')
    expect(r.stderr).not.toContain('IMGSWARM_ERR_MANIFEST_SIGNATURE')
    expect(await readdir(target).catch(() => [])).toEqual([])
    const events = await storedEvents(server.running.url, server.store.root, 'n1')
    expect(events.at(-1)).toMatchObject({ step: 'failed', code: 'IMGSWARM_ERR_PLAN_SIGNATURE' })
  })

  it('refuses a forged manifest behind a genuinely signed plan, before touching the target', async () => {
    const dir = await tempDir()
    server = await imageServer(dir, { dataMb: 1, plans: PLANS, overrides: OVERRIDES })
    // Still valid JSON and a well-formed manifest, changed after signing: only its signature can tell.
    const file = `${join(server.store.packedDir('image'), 'base@1')}.manifest.json`
    await writeFile(file, (await readFile(file, 'utf8')).replace('"tree"', '"tree" '))
    const target = join(dir, 'target')
    const r = await installNode(
      nodeArgs({ url: server.running.url, pubkey: server.pubkey, targetDir: target, hostname: 'n1' }),
    ).result
    expect(r.status, r.stderr).toBe(3)
    expect(r.stderr).not.toContain('IMGSWARM_ERR_PLAN_SIGNATURE')
    expect(r.stderr).toContain('IMGSWARM_ERR_MANIFEST_SIGNATURE')
    expect(await readdir(target).catch(() => [])).toEqual([])
    const events = await storedEvents(server.running.url, server.store.root, 'n1')
    expect(events.at(-1)).toMatchObject({ step: 'failed', code: 'IMGSWARM_ERR_MANIFEST_SIGNATURE' })
  })

  it('waits for an unreachable server with a clear message, then installs', async () => {
    const dir = await tempDir()
    const port = await freePort()
    const url = `http://127.0.0.1:${port}`
    const target = join(dir, 'target')
    const node = installNode(nodeArgs({ url: url, pubkey: await pubkeyOnly(dir), targetDir: target, hostname: 'n1' }))
    await node.waitFor(/unreachable|retrying/i, 60_000)
    server = await imageServer(dir, { dataMb: 1, plans: PLANS, overrides: OVERRIDES, serve: { port, publicUrl: url } })
    const r = await node.result
    expect(r.status, r.stderr).toBe(0)
    expect(await readFile(join(target, 'etc/hostname'), 'utf8')).toBe('n1\n')
  })

  it('--plan FILE: installs from a local plan, still verified against the pinned key', async () => {
    const dir = await tempDir()
    server = await imageServer(dir, { dataMb: 1, plans: PLANS, overrides: OVERRIDES })
    const plan = (await (await fetch(`${server.running.url}/api/v1/plan?hostname=n1`)).json()) as {
      image: { sha256: string }
      overrides: unknown[]
    }
    // Only the host override: the local plan decides, not the server's plans file.
    plan.overrides = plan.overrides.slice(1)
    const good = join(dir, 'plan.json')
    await writeFile(good, JSON.stringify(plan))
    const args = (target: string, file: string) =>
      nodeArgs({
        url: server?.running.url ?? '',
        pubkey: server?.pubkey ?? '',
        targetDir: target,
        hostname: 'n1',
        extra: ['--plan', file],
      })
    const ok = await installNode(args(join(dir, 't1'), good)).result
    expect(ok.status, ok.stderr).toBe(0)
    expect(await readFile(join(dir, 't1/etc/motd'), 'utf8')).toBe('n1 motd\n')
    expect(await readFile(join(dir, 't1/etc/site.conf'), 'utf8').catch(() => 'absent')).toBe('absent')

    plan.image.sha256 = 'a'.repeat(64)
    const bad = join(dir, 'bad.json')
    await writeFile(bad, JSON.stringify(plan))
    const refused = await installNode(args(join(dir, 't2'), bad)).result
    expect(refused.status).toBe(3)
    expect(refused.stderr).toContain('IMGSWARM_ERR_PLAN_MISMATCH')
    expect(await readdir(join(dir, 't2')).catch(() => [])).toEqual([])
  })
})

/** The key the image server in `dir` will use: made now, ahead of the server, in its store. */
async function pubkeyOnly(dir: string): Promise<string> {
  const store = new Store(join(dir, 'store'))
  await loadOrCreateSigningKey(store.keysDir)
  return join(store.keysDir, 'manifest-signing.pub')
}
