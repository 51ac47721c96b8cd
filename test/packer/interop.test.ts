// Real BitTorrent tools accept our .torrent, and GNU tar reads our archive
// with the same owners, modes and contents.
import { spawnSync } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import parseTorrent from 'parse-torrent'
import { beforeAll, describe, expect, it } from 'vitest'
import { isRoot } from '../support/tmp.ts'
import { buildFullTree, snapshot } from '../support/tree.ts'
import { ANNOUNCE, importAndPack } from './helpers.ts'

function run(cmd: string, args: string[]) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20 })
  if (r.error)
    throw new Error(
      `${cmd} is not installed (apt-get install ${cmd === 'aria2c' ? 'aria2' : cmd === 'transmission-show' ? 'transmission-cli' : cmd}): ${r.error.message}`,
    )
  return r
}

describe.skipIf(!isRoot)('interop with Debian tools', () => {
  let dir: string
  let packed: Awaited<ReturnType<typeof importAndPack>>
  beforeAll(async () => {
    const { mkdtemp } = await import('node:fs/promises')
    dir = await mkdtemp('/tmp/imgswarm-interop-')
    await buildFullTree(join(dir, 'tree'), { sparseSize: 32 << 20 })
    packed = await importAndPack(dir, join(dir, 'tree'))
    return async () => {
      const { rm } = await import('node:fs/promises')
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('aria2c lists the torrent with the right name and size', () => {
    const r = run('aria2c', ['--show-files', packed.info.torrent])
    expect(r.status).toBe(0)
    expect(r.stdout).toContain(`Info Hash: ${packed.info.manifest.torrent.infoHash}`)
    expect(r.stdout).toContain('img@1.tar')
    expect(r.stdout.replace(/,/g, '')).toContain(String(packed.info.manifest.archive.size))
  })

  it('transmission-show sees a private torrent with our tracker only', () => {
    const r = run('transmission-show', [packed.info.torrent])
    expect(r.status).toBe(0)
    expect(r.stdout).toMatch(/Privacy: Private torrent/)
    expect(r.stdout).toContain(ANNOUNCE)
    expect(r.stdout).toContain(`Hash: ${packed.info.manifest.torrent.infoHash}`)
    const trackers = r.stdout.split('TRACKERS')[1]?.split('WEBSEEDS')[0] ?? ''
    expect(trackers.match(/https?:\/\//g)?.length).toBe(1)
  })

  it('parse-torrent agrees on info hash, pieces, private flag and web seed', async () => {
    const t = await parseTorrent(await readFile(packed.info.torrent))
    expect(t.infoHash).toBe(packed.info.manifest.torrent.infoHash)
    expect(t.private).toBe(true)
    expect(t.pieceLength).toBe(packed.info.manifest.torrent.pieceLength)
    expect(t.pieces?.length).toBe(packed.info.manifest.torrent.pieces)
    expect(t.announce).toEqual([ANNOUNCE])
    expect(t.urlList).toEqual(['http://127.0.0.1:8470/webseed/images/img@1.tar'])
    expect(t.created).toBeUndefined()
  })

  it('GNU tar lists every entry with the same numeric owners and modes', async () => {
    const r = run('tar', ['--numeric-owner', '-tvf', packed.info.archive])
    expect(r.status).toBe(0)
    const listed = new Map<string, string>()
    for (const line of r.stdout.trim().split('\n')) {
      const m = /^(\S{10}) (\d+)\/(\d+)\s+\S+ \S+ \S+ \.\/(.*?)(?: -> .*| link to .*)?$/.exec(line)
      expect(m, line).not.toBeNull()
      if (!m) continue
      listed.set((m[4] as string).replace(/\/$/, ''), `${m[1]} ${m[2]}:${m[3]}`)
    }
    const snap = await snapshot(join(dir, 'tree'))
    expect(listed.size).toBe(snap.size)
    const expectMode = (path: string, want: string) => expect(listed.get(path)).toBe(want)
    expectMode('usr/bin/passwd', '-rwsr-xr-x 0:0')
    expectMode('tmp', 'drwxrwxrwt 0:0')
    expectMode('srv/data', 'drwxr-s--- 0:0')
    expectMode('srv/data/a', '-rw-r--r-- 1234:5678')
    expectMode('srv/data/b', 'hrw-r--r-- 1234:5678')
    expectMode('dev/tty9', 'crw--w---- 0:0')
    expectMode('dev/pipe', 'prw------- 0:0')
    for (const [path, e] of snap) {
      if (path === '') continue
      expect(listed.get(path), path).toMatch(new RegExp(` ${e.uid}:${e.gid}$`))
    }
  })

  it('GNU tar extracts the same contents, holes and capability', async () => {
    const out = join(dir, 'gnu-extract')
    const { mkdir } = await import('node:fs/promises')
    await mkdir(out)
    const r = run('tar', ['--xattrs', '--xattrs-include=*', '--numeric-owner', '-xpf', packed.info.archive, '-C', out])
    expect(r.stderr).toBe('')
    const a = await snapshot(join(dir, 'tree'))
    const b = await snapshot(out)
    for (const [path, e] of a) {
      const got = b.get(path)
      // GNU tar sets directory times it created itself; compare the rest.
      expect({ ...got, mtime: e.type === 'dir' ? 0 : got?.mtime }, path).toEqual({
        ...e,
        mtime: e.type === 'dir' ? 0 : e.mtime,
      })
    }
  })
})
