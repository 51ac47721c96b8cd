// Several nodes at once against a real `serve` whose upload is capped: the
// nodes must serve each other most of the bytes. And a node killed in the
// middle of its download resumes without fetching its verified pieces again.
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterEach, describe, expect, it } from 'vitest'
import { haveTools, loopDisk, scratchDir } from '../disks/loop.ts'
import { storedEvents } from '../support/events.ts'
import { isRoot, tempDir } from '../support/tmp.ts'
import { type ImageServer, imageServer, installNode, nodeArgs } from './harness.ts'

interface Summary {
  inPlace: boolean
  image_stats: {
    bytesDown: number
    bytesUp: number
    bytesFromPeers: number
    bytesFromWebseed: number
    piecesTotal: number
    piecesHadAtStart: number
    piecesDownloaded: number
  }
}

const LAYOUT = `table = "msdos"
[[partition]]
label = "root"
size = "grow"
fs = "ext4"
mount = "/"
`

let server: ImageServer | undefined
afterEach(async () => {
  await server?.running.stop()
  server = undefined
})

const MiB = 1024 * 1024
const missing = haveTools('sfdisk', 'mkfs.ext4', 'grub-install')

describe.runIf(isRoot && missing.length === 0)('a swarm of install clients', () => {
  it('five nodes on loop disks get most bytes from each other when the server upload is capped', async () => {
    const dir = await tempDir()
    const plans = `[defaults]\nimage = "base"\npost = "none"\nlayout = "layout.toml"\n${[1, 2, 3, 4, 5]
      .map((i) => `[[node]]\nhostname = "s${i}"\n`)
      .join('')}`
    server = await imageServer(dir, {
      dataMb: 24,
      plans,
      files: { 'layout.toml': LAYOUT },
      serve: { uploadLimit: 3 * MiB },
    })
    const url = server.running.url
    const nodes = []
    for (let i = 1; i <= 5; i++) {
      const { dev } = await loopDisk(256 * MiB)
      nodes.push(
        installNode(
          nodeArgs({
            url: url,
            pubkey: server.pubkey,
            disk: dev,
            mountDir: join(scratchDir(), 'target'),
            hostname: `s${i}`,
            seedTime: 120,
            json: true,
          }),
        ),
      )
    }
    const results = await Promise.all(nodes.map((n) => n.result))
    for (const r of results) {
      if (r.status !== 0) throw new Error(`a node failed:\n${r.stderr}`)
    }
    const sums = results.map((r) => (JSON.parse(r.stdout) as Summary).image_stats)
    const down = sums.reduce((a, s) => a + s.bytesDown, 0)
    const fromPeers = sums.reduce((a, s) => a + s.bytesFromPeers, 0)
    const up = sums.reduce((a, s) => a + s.bytesUp, 0)
    expect(down).toBeGreaterThanOrEqual(5 * 24 * MiB)
    // Upload counters of the nodes agree with what they got from each other.
    expect(fromPeers / down).toBeGreaterThan(0.5)
    expect(up).toBeGreaterThan(0.5 * down - 5 * 256 * 1024 * 10)
    for (let i = 1; i <= 5; i++) {
      const steps = (await storedEvents(url, server.store.root, `s${i}`)).map((e) => e.step)
      expect(steps).toContain('done')
    }
  })
})

describe.runIf(isRoot)('resume', () => {
  it('a client killed mid-download resumes without fetching verified pieces again', async () => {
    const dir = await tempDir()
    server = await imageServer(dir, {
      dataMb: 16,
      plans: '[defaults]\nimage = "base"\npost = "none"\n[[node]]\nhostname = "r1"\n',
      serve: { uploadLimit: 2 * MiB },
    })
    const url = server.running.url
    const target = join(dir, 'target')
    const args = nodeArgs({ url: url, pubkey: server.pubkey, targetDir: target, hostname: 'r1', json: true })
    const first = installNode(args)
    // Wait until the server has seen it pass a quarter of the download, then pull the plug.
    for (;;) {
      const ev = await storedEvents(url, server.store.root, 'r1')
      if (ev.some((e) => e.step === 'download' && (e.percent ?? 0) >= 25)) break
      if (ev.some((e) => e.step === 'done' || e.step === 'failed'))
        throw new Error('finished before it could be killed')
      await sleep(200)
    }
    first.kill('SIGKILL')
    const killed = await first.result
    expect(killed.signal).toBe('SIGKILL')

    const second = await installNode(args).result
    expect(second.stderr).not.toMatch(/error/i)
    expect(second.status).toBe(0)
    const s = (JSON.parse(second.stdout) as Summary).image_stats
    expect(s.piecesHadAtStart).toBeGreaterThan(0)
    expect(s.piecesHadAtStart + s.piecesDownloaded).toBe(s.piecesTotal)
    expect(s.bytesDown).toBeLessThan(s.piecesTotal * 256 * 1024 - s.piecesHadAtStart * 256 * 1024 + 256 * 1024)
  })
})
