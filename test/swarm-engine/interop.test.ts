// Another BitTorrent client as the seeder: aria2c (Debian package aria2).
// The engine asks webtorrent peers for 64 KiB blocks and splits its
// requests into 16 KiB ones for other clients, which may refuse more
// (aria2c happens to accept 64 KiB: the test checks the sizes sent).
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import Wire from 'bittorrent-protocol'
import { describe, expect, it } from 'vitest'
import { startSwarm } from '../../client/swarm/engine/index.ts'
import { tempDir } from '../support/tmp.ts'
import { cleanup, fileSha, makeImage, startTracker } from './helpers.ts'

const hasAria2 = spawnSync('sh', ['-c', 'command -v aria2c'], { stdio: 'ignore' }).status === 0
if (!hasAria2) console.warn('swarm-engine interop: aria2c not installed (apt-get install aria2); test skipped')

describe.runIf(hasAria2)('swarm engine: other clients', () => {
  it('downloads from an aria2c seeder with 16 KiB requests', async () => {
    const tracker = await startTracker()
    const seedDir = await tempDir()
    const img = await makeImage(seedDir, tracker)
    const torrentFile = join(seedDir, 'img.torrent')
    await writeFile(torrentFile, img.torrent)
    const aria: ChildProcess = spawn(
      'aria2c',
      [
        '--enable-dht=false',
        '--bt-enable-lpd=false',
        '--enable-peer-exchange=false',
        '--seed-ratio=0.0',
        '--bt-seed-unverified=true',
        '--check-integrity=false',
        '--console-log-level=error',
        '--summary-interval=0',
        `--dir=${seedDir}`,
        torrentFile,
      ],
      { stdio: 'ignore' },
    )
    cleanup(() => {
      aria.kill('SIGTERM')
    })
    // Record the size of every request put on the wire to aria2c.
    const proto = (Wire as unknown as { prototype: { request: (...a: unknown[]) => unknown } }).prototype
    const request = proto.request
    const sizes: number[] = []
    proto.request = function (this: { peerId?: string }, ...a: unknown[]) {
      if (!String(this.peerId).startsWith(Buffer.from('-WW').toString('hex'))) sizes.push(a[2] as number)
      return request.apply(this, a)
    }
    cleanup(() => {
      proto.request = request
    })
    const dir = await tempDir()
    const s = await startSwarm({ torrent: img.torrent, path: dir })
    cleanup(() => s.destroy())
    const st = await s.done
    expect(await fileSha(dir)).toBe(img.sha)
    expect(st.piecesFailed).toBe(0)
    expect(st.bytesFromPeers).toBe(img.data.length)
    expect(sizes.length).toBeGreaterThan(0)
    expect(Math.max(...sizes)).toBe(16 * 1024)
  })
})
