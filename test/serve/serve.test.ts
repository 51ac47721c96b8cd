// `serve` end to end over loopback with real clients: our webtorrent-based
// client through the tracker and the first seeder, the web seed alone, and
// Debian's aria2c in both directions.
import { spawn } from 'node:child_process'
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { packVersion } from '../../seeder/index.ts'
import { tempDir } from '../support/tmp.ts'
import { freePort, packedStore, type Running, sha256File, startServe } from './harness.ts'
import { leech } from './leech.ts'

const running: Running[] = []
const children: ReturnType<typeof spawn>[] = []
afterEach(async () => {
  for (const c of children.splice(0)) c.kill('SIGKILL')
  for (const r of running.splice(0)) await r.stop()
})

async function serve(dir: string) {
  const p = await packedStore(dir)
  const r = await startServe(p.store)
  running.push(r)
  const torrent = Buffer.from(await (await fetch(`${r.url}/api/v1/images/img/1/torrent`)).arrayBuffer())
  return { ...p, r, torrent }
}

describe('imgswarm serve', () => {
  it('our client downloads through the tracker from the first seeder, byte-identical', async () => {
    const dir = await tempDir()
    const s = await serve(dir)
    const got = await leech(s.torrent, dir, { webSeeds: false })
    expect(await sha256File(got.file)).toBe(s.manifestSha)
    expect(got.webseedBytes).toBe(0)
    expect(s.r.server.seeder.status().uploaded).toBeGreaterThanOrEqual(got.downloaded)
    const stats = (await (await fetch(`${s.r.url}/stats`)).json()) as { torrents: number }
    expect(stats.torrents).toBeGreaterThanOrEqual(1)
  })

  it('a client completes from the web seed alone when the seeder is stopped', async () => {
    const dir = await tempDir()
    const s = await serve(dir)
    await s.r.server.seeder.stop()
    const got = await leech(s.torrent, dir, { webSeeds: true })
    expect(await sha256File(got.file)).toBe(s.manifestSha)
    expect(got.peerBytes).toBe(0)
    expect(got.webseedBytes).toBeGreaterThan(0)
  })

  it("Debian's aria2c leeches an image with our .torrent", async () => {
    const dir = await tempDir()
    const s = await serve(dir)
    const tfile = join(dir, 'img.torrent')
    await writeFile(tfile, s.torrent)
    const out = join(dir, 'aria')
    // Asynchronous: the server runs in this process and must keep answering.
    const aria = spawn(
      'aria2c',
      [
        '--enable-dht=false',
        '--bt-enable-lpd=false',
        '--enable-peer-exchange=false',
        '--seed-time=0',
        '--summary-interval=0',
        '--console-log-level=warn',
        '-d',
        out,
        tfile,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    )
    children.push(aria)
    let output = ''
    aria.stdout?.on('data', (d) => {
      output += String(d)
    })
    aria.stderr?.on('data', (d) => {
      output += String(d)
    })
    const code = await new Promise<number | null>((r) => aria.once('exit', (c) => r(c)))
    expect(code, output).toBe(0)
    expect(await sha256File(join(out, s.file))).toBe(s.manifestSha)
  })

  it('our client leeches from an aria2c seeder through our tracker', async () => {
    const dir = await tempDir()
    const s = await serve(dir)
    await s.r.server.seeder.stop()
    const seedDir = join(dir, 'aria-seed')
    await mkdir(seedDir)
    await copyFile(join(s.store.packedDir('image'), s.file), join(seedDir, s.file))
    const tfile = join(dir, 'img.torrent')
    await writeFile(tfile, s.torrent)
    const ariaPort = await freePort()
    const aria = spawn(
      'aria2c',
      [
        '--enable-dht=false',
        '--bt-enable-lpd=false',
        '--enable-peer-exchange=false',
        '--check-integrity=true',
        '--seed-ratio=0.0',
        '--seed-time=120',
        `--listen-port=${ariaPort}`,
        '--summary-interval=0',
        '-d',
        seedDir,
        tfile,
      ],
      { stdio: 'ignore' },
    )
    children.push(aria)
    // aria2c checks the file, then announces as a seeder: wait for that.
    const deadline = Date.now() + 60_000
    for (;;) {
      const st = (await (await fetch(`${s.r.url}/stats`)).json()) as { seeders: number }
      if (st.seeders >= 1) break
      if (Date.now() > deadline || aria.exitCode !== null) throw new Error('aria2c never announced as a seeder')
      await new Promise((r) => setTimeout(r, 200))
    }
    // No web seed and no first seeder: every byte must come from aria2c.
    const got = await leech(s.torrent, dir, { webSeeds: false })
    expect(await sha256File(got.file)).toBe(s.manifestSha)
    expect(got.peerBytes).toBeGreaterThan(0)
  })

  it('picks up a new pack without a restart', async () => {
    const dir = await tempDir()
    const s = await serve(dir)
    expect(s.r.server.seeder.status().torrents).toHaveLength(1)
    // Packed by another process (the CLI) while serve runs: the store rescan finds it.
    await s.store.copy('image', 'img@1', 'img@2')
    const res = await packVersion(s.store, 'image', 'img@2', {
      compression: 'zstd',
      announce: ['http://x/announce'],
      webseeds: [],
    })
    const deadline = Date.now() + 20_000
    while (s.r.server.seeder.status().torrents.length < 2 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 200))
    expect(
      s.r.server.seeder
        .status()
        .torrents.map((t) => t.ref)
        .sort(),
    ).toEqual(['img@1', 'img@2'])
    // The tracker now accepts its info hash.
    const hash = res.info.manifest.torrent.infoHash
    const q = `info_hash=${hash.replace(/../g, '%$&')}&peer_id=${'p'.repeat(20)}&port=6999&uploaded=0&downloaded=0&left=1&compact=1`
    const body = await (await fetch(`${s.r.url}/announce?${q}`)).text()
    expect(body).not.toContain('failure reason')
  })

  it('restarts without re-hashing unchanged archives', async () => {
    const dir = await tempDir()
    const p = await packedStore(dir, 4)
    const first = await startServe(p.store)
    expect(first.server.seeder.status().hashed).toBe(1)
    await first.stop()
    const second = await startServe(p.store)
    running.push(second)
    const st = second.server.seeder.status()
    expect(st.hashed).toBe(0)
    expect(st.torrents.map((t) => t.verifiedBy)).toEqual(['marker'])
    // A changed archive is hashed again, refused (it no longer matches its
    // torrent) and reported; the server still runs.
    await second.stop()
    running.pop()
    const archive = join(p.store.packedDir('image'), p.file)
    const bytes = await readFile(archive)
    bytes[1000] = (bytes[1000] as number) ^ 0xff
    await writeFile(archive, bytes)
    const third = await startServe(p.store)
    running.push(third)
    const st3 = third.server.seeder.status()
    expect(st3.torrents).toEqual([])
    expect(st3.failed[0]?.message).toMatch(/does not match its torrent/)
  })
})
