// `boot build` for real: Debian packages from apt, the real Node binary and
// bundle. Built twice into two folders, the initramfs must be byte for byte
// the same; its contents are read back from the archive and checked.

import { createHash } from 'node:crypto'
import { mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { zstdDecompressSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { parseCaPem } from '../../common/https.ts'
import { PROGRAMS } from '../../initramfs/contents.ts'
import { type BuildInfo, buildBootImage } from '../../initramfs/index.ts'
import { loadOrCreateSigningKey, PUBLIC_KEY_FILE } from '../../seeder/store/keys.ts'
import { createCa } from '../../seeder/tls/index.ts'
import { cli, cliAsync } from '../support/cli.ts'
import { isRoot, tempDir } from '../support/tmp.ts'
import { haveTool } from '../support/tools.ts'
import { readNewc } from './newc.ts'

const CACHE = process.env.IMGSWARM_TEST_BOOT_CACHE ?? '/var/tmp/imgswarm-test-boot-cache'

/** The first build's inputs (the key folder's files, the CA) and result, for the launcher's build to reproduce. */
let first: { keys: Map<string, Buffer>; caPem: string; sha256: string } | undefined

describe.runIf(isRoot && haveTool('apt-get') && haveTool('dpkg'))('boot build', () => {
  it('is reproducible, holds what the client needs, and reuses its cache', async () => {
    const dir = await tempDir('imgswarm-bootbuild-')
    await loadOrCreateSigningKey(join(dir, 'keys'))
    const pubkeyPem = await readFile(join(dir, 'keys', PUBLIC_KEY_FILE), 'utf8')
    // As the launcher pins a CA file: parsed and normalised (createCa's PEM ends in CRLF).
    const caPem = parseCaPem(createCa('imgswarm test CA').cert, 'test CA')
    const a = await buildBootImage({ outDir: join(dir, 'a'), cacheDir: CACHE, pubkeyPem, caPem })
    const lines: string[] = []
    const b = await buildBootImage({
      outDir: join(dir, 'b'),
      cacheDir: CACHE,
      pubkeyPem,
      caPem,
      say: (l) => lines.push(l),
    })
    const rdA = await readFile(join(dir, 'a', 'initramfs'))
    const rdB = await readFile(join(dir, 'b', 'initramfs'))
    expect(createHash('sha256').update(rdA).digest('hex')).toBe(a.initramfs.sha256)
    // (In a shared checkout, someone editing the client between the two builds changes the bundle.)
    expect(b.client.sha256, 'the client bundle').toBe(a.client.sha256)
    expect(b.initramfs.uncompressedSha256, 'the archive').toBe(a.initramfs.uncompressedSha256)
    expect(b.initramfs.sha256).toBe(a.initramfs.sha256)
    expect(rdB.equals(rdA)).toBe(true)
    expect(await readFile(join(dir, 'b', 'build.json'), 'utf8')).toBe(
      await readFile(join(dir, 'a', 'build.json'), 'utf8'),
    )
    expect(a.initramfs.size).toBeLessThan(120 * 1000 * 1000)
    const keys = new Map<string, Buffer>()
    for (const f of await readdir(join(dir, 'keys'))) keys.set(f, await readFile(join(dir, 'keys', f)))
    first = { keys, caPem, sha256: a.initramfs.sha256 }

    // Again into the same folder: nothing changed, so the compressed file is kept.
    const again: string[] = []
    const c = await buildBootImage({
      outDir: join(dir, 'a'),
      cacheDir: CACHE,
      pubkeyPem,
      caPem,
      say: (l) => again.push(l),
    })
    expect(c.initramfs.sha256).toBe(a.initramfs.sha256)
    expect(again.join('\n')).toMatch(/unchanged since the last build/)

    const entries = readNewc(zstdDecompressSync(rdA))
    const byName = new Map(entries.map((e) => [e.name, e]))
    const names = entries.map((e) => e.name)
    expect(names).toEqual([...names].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y))))
    expect(new Set(entries.map((e) => e.mtime)).size).toBe(1)
    expect(entries.every((e) => e.uid === 0 && e.gid === 0)).toBe(true)
    const init = byName.get('init')
    expect(init?.mode).toBe(0o100755)
    expect(init?.data.toString()).toMatch(/node --max-semi-space-size=16 \/imgswarm\.mjs install/)
    const console = byName.get('dev/console')
    expect([console?.mode, console?.rdev]).toEqual([0o020600, [5, 1]])
    expect(byName.get('etc/imgswarm/server.pub')?.data.toString()).toBe(pubkeyPem)
    // The TLS CA is pinned too, and the client's config names both (docs/tls.md).
    expect(byName.get('etc/imgswarm/ca.pem')?.data.toString()).toBe(caPem)
    expect(a.caPath).toBe('/etc/imgswarm/ca.pem')
    expect(a.caSha256).toBe(createHash('sha256').update(caPem).digest('hex'))
    const clientToml = byName.get('etc/imgswarm/client.toml')?.data.toString() ?? ''
    expect(clientToml).toContain('pubkey = "/etc/imgswarm/server.pub"')
    expect(clientToml).toContain('ca = "/etc/imgswarm/ca.pem"')
    expect(byName.get('usr/bin/node')?.data.length).toBe(a.node.size)
    const bundle = byName.get('imgswarm.mjs')?.data.toString() ?? ''
    expect(bundle).toContain('vendor/webrtc-polyfill-stub/index.js')
    for (const p of PROGRAMS) expect(byName.has(p.slice(1)), p).toBe(true)
    // coreutils' sync, not a busybox link: busybox's sync -f ignores a failed syncfs (client/install/flush.ts).
    expect((byName.get('bin/sync')?.mode ?? 0) & 0o170000, 'bin/sync is a regular file').toBe(0o100000)
    for (const p of [
      'sbin/modprobe',
      'bin/sh',
      'sbin/udhcpc',
      'usr/lib/grub/i386-pc/boot.img',
      'usr/lib/grub/x86_64-efi/normal.mod',
    ])
      expect(byName.has(p), p).toBe(true)
    const mods = `lib/modules/${a.kernel.version}`
    for (const f of ['modules.dep', 'modules.dep.bin', 'modules.alias.bin'])
      expect(byName.has(`${mods}/${f}`), f).toBe(true)
    const dep = byName.get(`${mods}/modules.dep`)?.data.toString() ?? ''
    for (const m of ['virtio_blk', 'virtio_net', 'nvme', 'ext4', 'xfs', 'e1000e', 'mlx5_core'])
      expect(dep).toMatch(new RegExp(`/${m}\\.ko`))
    // Every module modules.dep names is in the archive.
    for (const line of dep.split('\n').filter(Boolean)) {
      for (const p of line.replace(':', '').split(/\s+/).filter(Boolean))
        expect(byName.has(`${mods}/${p}`), p).toBe(true)
    }
    // Every symlink resolves inside the archive (no dangling library links).
    const resolve = (name: string, depth = 0): string | undefined => {
      const e = byName.get(name)
      if (!e || depth > 20) return undefined
      if ((e.mode & 0o170000) !== 0o120000) return name
      const t = e.data.toString()
      const base = t.startsWith('/') ? t.slice(1) : [...name.split('/').slice(0, -1), t].join('/')
      const norm: string[] = []
      for (const part of base.split('/')) part === '..' ? norm.pop() : part !== '.' && part !== '' && norm.push(part)
      return resolve(norm.join('/'), depth + 1)
    }
    const dangling = entries.filter((e) => (e.mode & 0o170000) === 0o120000 && resolve(e.name) === undefined)
    expect(dangling.map((e) => e.name).filter((n) => !n.startsWith('etc/mtab') && n !== 'var/run')).toEqual([])
    expect(byName.has('lib/x86_64-linux-gnu/libc.so.6')).toBe(true)
    expect(resolve('usr/lib/x86_64-linux-gnu/libstdc++.so.6')).toBeDefined()
    expect(lines.join('\n')).not.toMatch(/unchanged/)
  }, 600_000)

  it('through the launcher: a progress display while it runs, then the sizes, under 120 MB compressed, and the same bytes again', async () => {
    if (!first) throw new Error('the first build did not get far enough')
    const dir = await tempDir('imgswarm-bootbuild-cli-')
    const store = join(dir, 'store')
    // The shared package cache stands in for STORE/boot/cache, so nothing is downloaded again.
    await mkdir(join(store, 'boot'), { recursive: true })
    await symlink(CACHE, join(store, 'boot', 'cache'))
    // The first build's key and CA: the same inputs, in another process and another folder.
    await mkdir(join(store, 'keys'), { mode: 0o700 })
    for (const [f, data] of first.keys) await writeFile(join(store, 'keys', f), data, { mode: 0o600 })
    await writeFile(join(dir, 'ca.pem'), first.caPem)
    const r = await cliAsync(
      ['boot', 'build', '--store', store, '--ca', join(dir, 'ca.pem')],
      {},
      { timeoutMs: 600_000 },
    )
    expect(r.status, r.stderr).toBe(0)
    process.stderr.write(`boot build through the launcher:\n${r.stdout}`)
    const info = JSON.parse(await readFile(join(store, 'boot', 'build.json'), 'utf8')) as BuildInfo
    // The steps as they happen (stderr is not a terminal here: plain lines, every 10 % of a step).
    for (const line of [
      /^resolving packages \(apt-cache\)$/m,
      /^download: 0 packages fetched, \d+ from the cache$/m,
      /^bundling the client \(esbuild\)$/m,
      /^kernel modules for \S+$/m,
      /^\d+ shared libraries resolved against the packages$/m,
      /^archive +\d+% [\d.]+ MB\/[\d.]+ MB /m,
      /^archive: \d+ entries, \d+ bytes$/m,
      /^compress \(zstd -12\) +100% /m,
    ])
      expect(r.stderr).toMatch(line)
    // The report: both files with their sizes, the hash, the pinned key.
    const rd = new RegExp(
      `^initramfs  ${join(store, 'boot', 'initramfs')}  zstd  ([\\d.]+) MB \\(([\\d.]+) MB unpacked, (\\d+) entries\\)$`,
      'm',
    ).exec(r.stdout)
    expect(rd, r.stdout).not.toBeNull()
    expect(Number(rd?.[1])).toBe(Number((info.initramfs.size / 1e6).toFixed(1)))
    expect(Number(rd?.[1])).toBeLessThan(120)
    expect(Number(rd?.[3])).toBe(info.initramfs.entries)
    expect(r.stdout).toMatch(
      new RegExp(`^kernel     ${join(store, 'boot', 'kernel')}  ${info.kernel.version}  [\\d.]+ MB$`, 'm'),
    )
    expect(r.stdout).toContain(`sha256     ${info.initramfs.sha256}`)
    expect(r.stdout).toContain(`pinned key ${info.pubkey}`)
    expect(info.pubkey).toMatch(/^[A-Za-z0-9+/]{43}=$/)
    expect(info.initramfs.sha256, 'the same bytes as the first build').toBe(first.sha256)
  }, 600_000)

  it('refuses a kernel version that is not one', () => {
    const r = cli(['boot', 'build', '--store', '/nonexistent-imgswarm', '--kernel-version', '../../etc'])
    expect(r.status).toBe(2)
    expect(r.stderr).toMatch(/IMGSWARM_ERR_BOOT_OPTION/)
  })
})
