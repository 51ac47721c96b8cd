// The whole update cycle (docs/node-update.md) with real parts: a real serve,
// a node installed by the real client (into a target directory: the loop-disk
// variant is still to be written), enrolled; `node update --to base@2` builds
// and seeds a delta, the real agent (`imgswarm agent --once --root`) fetches it
// over the swarm and applies it; then back to base@1. Each time the tree must
// equal the version outside the node's own files, and the bytes moved must be
// a small part of the image.
import { spawnSync } from 'node:child_process'
import { readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { packVersion } from '../../seeder/index.ts'
import { type ImageServer, imageServer, installNode, nodeArgs, noise } from '../install/harness.ts'
import { describeTree, diffTrees } from '../install/tree.ts'
import { cliAsync } from '../support/cli.ts'
import { isRoot, tempDir } from '../support/tmp.ts'

const PLANS = `
[defaults]
image = "base@1"
post = "none"

[[node]]
hostname = "n1"
`
// The node's own files: identity, credential, and what update.exclude keeps.
const SKIP = new Set([
  'etc/hostname',
  'etc/hosts',
  'etc/fstab',
  'etc/machine-id',
  'etc/imgswarm',
  'etc/ssh',
  'etc/post-mark',
  'etc/motd.local',
  'var/lib/dbus',
  'var/lib/imgswarm-agent',
  // The agent's work folder moves var/lib's time.
  'var',
])

let server: ImageServer | undefined
afterEach(async () => {
  await server?.running.stop()
  server = undefined
})

describe.runIf(isRoot)('node update cycle', () => {
  it('v1 -> v2 -> v1 through the agent, moving only the delta', async () => {
    const dir = await tempDir('imgswarm-cycle-')
    server = await imageServer(dir, { dataMb: 6, plans: PLANS })
    const { store } = server
    const url = server.running.url
    // v2: 512 KiB of new data, a file changed, one added, a hard link deleted.
    const t2 = join(dir, 'tree2')
    spawnSync('cp', ['-a', join(dir, 'tree'), t2])
    await writeFile(join(t2, 'etc/motd'), 'from v2\n')
    await writeFile(join(t2, 'etc/new-in-v2'), 'new\n')
    await writeFile(join(t2, 'usr/share/data/new.bin'), noise(512 * 1024, 'v2'))
    await rm(join(t2, 'usr/share/data/small-link.txt'))
    await writeFile(join(t2, 'usr/share/data/small.txt'), 'changed small file\n')
    await store.import('image', t2, 'base@2')
    const pack = { compression: 'none' as const, announce: [`${url}/announce`], webseeds: [`${url}/webseed/`] }
    const image2 = await packVersion(store, 'image', 'base@2', pack)

    const target = join(dir, 'target')
    const r = await installNode(nodeArgs({ url, pubkey: server.pubkey, targetDir: target, hostname: 'n1' })).result
    expect(r.status, r.stderr).toBe(0)
    expect(r.stderr).toContain('enrolled as n1')
    // A local file the node keeps through updates.
    await writeFile(join(target, 'etc/imgswarm/update.exclude'), '/etc/motd.local\n')
    await writeFile(join(target, 'etc/motd.local'), 'mine\n')

    const env = { IMGSWARM_FROM_SOURCE: '1', IMGSWARM_CONFIG: 'none' }
    const op = ['--server', url, '--store', store.root]
    const step = async (to: string, tree: string) => {
      const dry = await cliAsync(['node', 'update', 'n1', '--to', to, '--dry-run', ...op], env)
      expect(dry.status, dry.stderr + dry.stdout).toBe(0)
      expect(dry.stdout).toMatch(/n1: base@\d -> base@\d: \d+ added/)
      const q = await cliAsync(['node', 'update', 'n1', '--to', to, '--json', ...op], env)
      expect(q.status, q.stderr + q.stdout).toBe(0)
      const queued = JSON.parse(q.stdout) as {
        nodes: { job: number; delta: { archiveSize: number; imageSize: number } }[]
      }
      const line = queued.nodes[0]
      expect(line?.job).toBeGreaterThan(0)
      const a = await cliAsync(['agent', '--once', '--root', target, '--seed-time', '0', '--json'], env)
      expect(a.status, a.stderr + a.stdout).toBe(0)
      const res = JSON.parse(a.stdout) as {
        jobs: { status: string; result: { bytesDown: number; archiveSize: number } }[]
      }
      expect(res.jobs).toHaveLength(1)
      expect(res.jobs[0]?.status).toBe('done')
      const moved = res.jobs[0]?.result.bytesDown ?? 0
      expect(diffTrees(await describeTree(tree, SKIP), await describeTree(target, SKIP))).toEqual([])
      const agent = JSON.parse(await readFile(join(target, 'etc/imgswarm/agent.json'), 'utf8')) as { image: string }
      expect(agent.image).toBe(to)
      expect(await readFile(join(target, 'etc/motd.local'), 'utf8')).toBe('mine\n')
      expect(moved * 5).toBeLessThan(image2.info.manifest.archive.size)
      process.stdout.write(
        `update to ${to}: ${moved} bytes moved (delta archive ${line?.delta.archiveSize}), image ${image2.info.manifest.archive.size} bytes\n`,
      )
    }
    await step('base@2', t2)
    await step('base@1', join(dir, 'tree'))
  }, 300_000)
})
