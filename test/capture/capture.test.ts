// image capture against a real sshd in a network namespace: the golden client
// is a loop disk (GPT, ext4 /boot + ext4 root) mounted under a temp dir and captured
// with --root. Checks what is kept, what is left out, the recorded layout, the
// second capture's hard links and transfer size, and that failures leave no version.
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs'
import { appendFile, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseLayout } from '../../common/layout/index.ts'
import { captureImage, layoutFile } from '../../seeder/lifecycle/index.ts'
import { Store } from '../../seeder/store/store.ts'
import { cli } from '../support/cli.ts'
import { isRoot } from '../support/tmp.ts'
import { haveTool } from '../support/tools.ts'
import { type Golden, makeGolden, sh } from './golden.ts'
import { type Sshd, startSshd } from './sshd.ts'

const missing = ['/usr/sbin/sshd', 'rsync', 'ssh', 'ssh-keygen', 'ip', 'losetup', 'mkfs.vfat', 'setfattr'].filter(
  (t) =>
    t.startsWith('/') ? !existsSync(t) : !haveTool(t) && !existsSync(`/usr/sbin/${t}`) && !existsSync(`/sbin/${t}`),
)
const why = !isRoot
  ? 'needs root (netns, loop devices, mounts)'
  : missing.length > 0
    ? `missing: ${missing.join(', ')} (scripts/install-deps.sh test)`
    : ''

describe.skipIf(why !== '')(`image capture over ssh + rsync${why ? ` (skipped: ${why})` : ''}`, () => {
  let dir: string
  let golden: Golden
  let sshd: Sshd
  let store: Store
  const opts = () => ({ from: `root@${sshd.ip}`, sshKey: sshd.key, sshPort: sshd.port, knownHosts: sshd.knownHosts })

  beforeAll(async () => {
    dir = await mkdtemp(join(process.env.IMGSWARM_TEST_TMP ?? tmpdir(), 'imgswarm-capture-'))
    golden = await makeGolden(dir)
    sshd = await startSshd(dir)
    store = new Store(join(dir, 'store'))
  })
  afterAll(async () => {
    await sshd?.stop()
    golden?.stop()
    const left = readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .filter((l) => dir && l.includes(dir))
    if (dir) await rm(dir, { recursive: true, force: true })
    expect(left).toEqual([])
  })

  const tree = (v: string) => store.treeDir('image', 'golden', v)

  it('captures files, modes, owners, hard links, xattrs, symlinks and the disk layout; leaves out what it must', async () => {
    const r = await captureImage(store, {
      ...opts(),
      ref: 'golden',
      root: golden.root,
      excludes: ['/srv/cache/*'],
      note: 'first',
    })
    expect(r.ref).toBe('golden@1')
    expect(r.previous).toBeUndefined()
    const t = tree('1')
    expect(readFileSync(join(t, 'etc/hostname'), 'utf8')).toBe('golden\n')
    const suid = lstatSync(join(t, 'usr/bin/suid-tool'))
    expect([suid.mode & 0o7777, suid.uid, suid.gid]).toEqual([0o4755, 1234, 5678])
    expect(lstatSync(join(t, 'usr/lib/big.bin')).ino).toBe(lstatSync(join(t, 'usr/lib/big-link.bin')).ino)
    expect(readlinkSync(join(t, 'usr/bin/big'))).toBe('../lib/big.bin')
    expect(sh('getfattr', ['--only-values', '-n', 'user.imgswarm', join(t, 'etc/hostname')])).toBe('kept')
    expect(lstatSync(join(t, 'usr/lib/fifo')).isFIFO()).toBe(true)
    expect(readFileSync(join(t, 'boot/vmlinuz'), 'utf8')).toBe('kernel\n')
    // Left out: contents of tmp, var/tmp, proc, the swap file, the user's exclude, a tmpfs, a bind mount, identity.
    for (const d of ['tmp', 'var/tmp', 'proc', 'run', 'mnt/scratch', 'mnt/bind', 'srv/cache']) {
      expect(readdirSync(join(t, d)), d).toEqual([])
    }
    expect(readFileSync(join(t, 'srv/data/file'), 'utf8')).toBe('data\n')
    for (const f of [
      'swapfile',
      'lost+found',
      'boot/lost+found',
      'etc/ssh/ssh_host_ed25519_key',
      'etc/ssh/ssh_host_ed25519_key.pub',
    ]) {
      expect(existsSync(join(t, f)), f).toBe(false)
    }
    expect(readFileSync(join(t, 'etc/machine-id'), 'utf8')).toBe('')
    expect(r.plan.skipped.map((s) => s.mountPoint.slice(golden.root.length)).sort()).toEqual([
      '/mnt/bind',
      '/mnt/scratch',
    ])
    expect(r.plan.sources).toEqual(['', 'boot'])
    // The client's disk as the image's default layout.
    // Without udev, lsblk here may not see partition table types; then the capture says so and stores no layout.
    const udevLess = sh('lsblk', ['-n', '-o', 'PTTYPE', golden.disk]).trim() === ''
    if (udevLess) {
      expect('reason' in r.layout ? r.layout.reason : '').toMatch(/partition table of type unknown/)
      expect(r.layoutFile).toBeUndefined()
    } else {
      expect(r.layoutFile).toBe(layoutFile(store, 'golden', '1'))
      const layout = parseLayout(readFileSync(r.layoutFile as string, 'utf8'), 'captured')
      expect(layout.table).toBe('gpt')
      expect(layout.partitions.map((p) => [p.label, p.fs, p.mount, p.flags, p.size])).toEqual([
        ['boot', 'ext4', '/boot', [], { unit: 'MiB', value: 40 }],
        ['rootfs', 'ext4', '/', [], { unit: 'grow' }],
      ])
    }
    const meta = JSON.parse(readFileSync(store.metaFile('image', 'golden', '1'), 'utf8'))
    expect(meta.note).toBe('first')
    expect(meta.changelog[0]).toMatch(/^capture: root@/)
  })

  it('a second capture is version 2: unchanged files hard-linked to version 1, only changes sent', async () => {
    await appendFile(join(golden.root, 'usr/lib/changes.txt'), 'second\n')
    await writeFile(join(golden.root, 'etc/new-file'), 'new\n')
    const r = await captureImage(store, { ...opts(), ref: 'golden', root: golden.root, excludes: ['/srv/cache/*'] })
    expect(r.ref).toBe('golden@2')
    expect(r.previous).toBe('1')
    const same = lstatSync(join(tree('2'), 'usr/lib/big.bin'))
    expect(same.ino).toBe(lstatSync(join(tree('1'), 'usr/lib/big.bin')).ino)
    expect(lstatSync(join(tree('2'), 'usr/lib/changes.txt')).ino).not.toBe(
      lstatSync(join(tree('1'), 'usr/lib/changes.txt')).ino,
    )
    expect(readFileSync(join(tree('2'), 'usr/lib/changes.txt'), 'utf8')).toBe('first\nsecond\n')
    expect(readFileSync(join(tree('1'), 'usr/lib/changes.txt'), 'utf8')).toBe('first\n')
    // The changed file and the new one are all that moved.
    expect(r.stats.transferredFiles).toBe(2)
    expect(r.stats.transferredBytes).toBe('first\nsecond\n'.length + 'new\n'.length)
    expect(r.stats.totalBytes).toBeGreaterThan(256 * 1024)
    // The changelog goes on from version 1's.
    const meta = JSON.parse(readFileSync(store.metaFile('image', 'golden', '2'), 'utf8'))
    expect(meta.changelog).toHaveLength(2)
    expect(meta.changelog[0]).toBe(
      JSON.parse(readFileSync(store.metaFile('image', 'golden', '1'), 'utf8')).changelog[0],
    )
    expect(meta.changelog[1]).toMatch(/^capture: root@.*rest hard-linked to 1\)$/)
  })

  it('refuses a key the client does not accept, with a coded error and no version', async () => {
    await expect(
      captureImage(store, { ...opts(), sshKey: sshd.wrongKey, ref: 'golden', root: golden.root }),
    ).rejects.toMatchObject({
      code: 'IMGSWARM_ERR_CAPTURE_SSH',
      message: expect.stringMatching(/authentication failed/),
    })
    const otherHosts = join(dir, 'other_known_hosts')
    await writeFile(
      otherHosts,
      `[${sshd.ip}]:${sshd.port} ${readFileSync(`${sshd.wrongKey}.pub`, 'utf8').split(' ').slice(0, 2).join(' ')}\n`,
    )
    await expect(
      captureImage(store, { ...opts(), knownHosts: otherHosts, ref: 'golden', root: golden.root }),
    ).rejects.toMatchObject({
      code: 'IMGSWARM_ERR_CAPTURE_SSH',
      message: expect.stringMatching(/host key not trusted/),
    })
    expect(await store.versions('image', 'golden')).toEqual(['1', '2'])
  })

  it('a missing rsync on this server or on the client is named', async () => {
    await expect(
      captureImage(store, { ...opts(), ref: 'golden', root: golden.root, tools: { rsync: join(dir, 'no-rsync') } }),
    ).rejects.toMatchObject({ code: 'IMGSWARM_ERR_TOOL_MISSING', message: expect.stringMatching(/on this server/) })
    const bare = await startSshd(join(dir, 'bare'), { setEnvPath: '/nonexistent' })
    try {
      await expect(
        captureImage(store, {
          from: `root@${bare.ip}`,
          sshKey: bare.key,
          sshPort: bare.port,
          knownHosts: bare.knownHosts,
          ref: 'golden',
          root: golden.root,
        }),
      ).rejects.toMatchObject({ code: 'IMGSWARM_ERR_TOOL_MISSING', message: expect.stringMatching(/golden client/) })
    } finally {
      await bare.stop()
    }
    expect(await store.versions('image', 'golden')).toEqual(['1', '2'])
  })

  it('a capture cut off mid-copy (sshd and its sessions killed, or aborted) leaves no version and nothing in tmp/', async () => {
    const big = join(dir, 'big-root')
    sh('mkdir', ['-p', join(big, 'data')])
    sh('dd', ['if=/dev/urandom', `of=${join(big, 'data/random.bin')}`, 'bs=1M', 'count=8', 'status=none'])
    let killed = false
    await expect(
      captureImage(store, {
        ...opts(),
        ref: 'big',
        root: big,
        bwlimitKiB: 512,
        onProgress: (bytes) => {
          if (bytes > 0 && !killed) {
            killed = true
            sshd.killAll()
          }
        },
      }),
    ).rejects.toMatchObject({ code: 'IMGSWARM_ERR_CAPTURE_RSYNC' })
    expect(killed).toBe(true)
    expect(await store.versions('image', 'big')).toEqual([])
    expect(readdirSync(join(store.root, 'tmp'))).toEqual([])
    // Start it again for the abort case (same keys and port).
    await sshd.stop()
    sshd = await startSshd(join(dir, 'again'))
    const ac = new AbortController()
    await expect(
      captureImage(store, {
        ...opts(),
        ref: 'big',
        root: big,
        bwlimitKiB: 512,
        signal: ac.signal,
        onProgress: () => ac.abort(),
      }),
    ).rejects.toMatchObject({ code: 'IMGSWARM_ERR_INTERRUPTED' })
    expect(await store.versions('image', 'big')).toEqual([])
    expect(readdirSync(join(store.root, 'tmp'))).toEqual([])
  })

  it('the CLI captures, prints the transfer, and refuses a hostile host', () => {
    const s = ['--store', store.root]
    const ok = cli([
      'image',
      'capture',
      '--from',
      `root@${sshd.ip}`,
      'golden',
      '--ssh-key',
      sshd.key,
      '--ssh-port',
      String(sshd.port),
      '--known-hosts',
      sshd.knownHosts,
      '--root',
      golden.root,
      '--exclude',
      '/srv/cache/*',
      ...s,
    ])
    expect(ok.stderr).toMatch(/sent 0 B of .* \(0\.0%\)/)
    expect(ok.stdout.trim()).toBe('golden@3')
    expect(ok.status).toBe(0)
    const bad = cli(['image', 'capture', '--from', '-oProxyCommand=touch /tmp/x', 'golden', ...s])
    expect(bad.status).toBe(2)
    expect(bad.stderr).toMatch(/IMGSWARM_ERR_CAPTURE_TARGET/)
    const help = cli(['image', 'capture', '--help'])
    expect(help.stdout).toMatch(/--link-dest/)
  })
})
