// image exec / image shell on a real busybox-static image in a real store,
// through the real CLI (bin/imgswarm) where it matters: a new version with the
// change, the old version untouched, the mounts made inside the chroot and
// gone afterwards, no version and the store as it was when the command fails,
// is interrupted, or the image is hostile (symlinked /proc, /sys, /dev, /usr).
import { spawn } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { diffTrees, editImage } from '../../seeder/lifecycle/index.ts'
import { Store } from '../../seeder/store/store.ts'
import { busyboxTree, chrootSkipReason, mountsUnder } from '../postinstall/tree.ts'
import { BIN, cli } from '../support/cli.ts'
import { isRoot } from '../support/tmp.ts'
import { type EntrySnapshot, snapshot } from '../support/tree.ts'

const why = chrootSkipReason(isRoot) || (existsSync('/usr/bin/unshare') ? '' : 'no unshare (util-linux)')

/** Processes whose root directory is under dir (a chroot command left running). */
function rootedIn(dir: string): number[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        const r = readlinkSync(`/proc/${p}/root`)
        return r === dir || r.startsWith(`${dir}/`)
      } catch {
        return false
      }
    })
    .map(Number)
}

/** Our /dev tmpfs anywhere in the host's mount table: it may only ever exist inside the namespace. */
function devMountsAnywhere(): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => l.includes(' imgswarm-dev '))
}

describe.skipIf(why !== '')(`image exec and image shell${why ? ` (skipped: ${why})` : ''}`, () => {
  let dir: string
  let storeDir: string
  let store: Store
  const tree = (v: string) => store.treeDir('image', 'base', v)
  const run = ([cmd, ...args]: string[]) => cli(['image', cmd as string, '--store', storeDir, ...args])
  /** Every entry of the store but tmp/ itself (its mtime moves with each scratch dir), which must be empty. */
  const storeState = async (): Promise<Map<string, EntrySnapshot>> => {
    const s = await snapshot(storeDir)
    s.delete('tmp')
    expect(existsSync(join(storeDir, 'tmp')) ? readdirSync(join(storeDir, 'tmp')) : []).toEqual([])
    return s
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(process.env.IMGSWARM_TEST_TMP ?? tmpdir(), 'imgswarm-edit-'))
    storeDir = join(dir, 'store')
    store = new Store(storeDir)
    const src = join(dir, 'src')
    busyboxTree(src)
    await writeFile(join(src, 'etc/resolv.conf'), 'nameserver 192.0.2.1\n')
    await store.import('image', src, 'base', { note: 'busybox' })
  })
  afterAll(async () => {
    const left = dir ? mountsUnder(dir) : []
    if (left.length === 0 && dir) await rm(dir, { recursive: true, force: true })
    expect(left).toEqual([])
  })

  it('exec: the change lands in a new version; the old one is untouched; the mounts were there inside and are gone', async () => {
    const before = await snapshot(tree('1'))
    const r = run([
      'exec',
      'base',
      '--',
      'sh',
      '-c',
      'echo hi > /x; cat /proc/self/mountinfo > /mounts.txt; ls /proc > /procs.txt; ls /dev > /devs.txt',
    ])
    expect(r.stderr).toContain('new version base@2')
    expect(r.status).toBe(0)
    expect(r.stdout).toBe('base@2\n')
    expect(await readFile(join(tree('2'), 'x'), 'utf8')).toBe('hi\n')
    expect(existsSync(join(tree('1'), 'x'))).toBe(false)
    expect(await snapshot(tree('1'))).toEqual(before)

    // Inside: a new proc, read-only sysfs, a /dev of its own, devpts, shm, resolv.conf bound read-only.
    const inside = (await readFile(join(tree('2'), 'mounts.txt'), 'utf8')).split('\n').filter(Boolean)
    const at = (m: string) => inside.find((l) => l.split(' ')[4] === m) ?? ''
    expect(at('/proc')).toMatch(/ rw,nosuid,nodev,noexec[, ].* - proc /)
    expect(at('/sys')).toMatch(/ ro,nosuid,nodev,noexec[, ].* - sysfs /)
    expect(at('/dev')).toMatch(/ rw,nosuid,noexec[, ].* - tmpfs imgswarm-dev /)
    expect(at('/dev/pts')).toMatch(/ - devpts /)
    expect(at('/dev/shm')).toMatch(/ - tmpfs /)
    expect(at('/etc/resolv.conf')).toMatch(/ ro,/)
    // The PID namespace: only the chroot's own processes, the namespace's init as 1.
    const pids = (await readFile(join(tree('2'), 'procs.txt'), 'utf8')).split('\n').filter((p) => /^\d+$/.test(p))
    expect(pids).toContain('1')
    expect(pids.length).toBeLessThan(10)
    expect((await readFile(join(tree('2'), 'devs.txt'), 'utf8')).split('\n')).toEqual(
      expect.arrayContaining(['null', 'zero', 'urandom', 'tty', 'pts', 'ptmx']),
    )
    expect((await readFile(join(tree('2'), 'devs.txt'), 'utf8')).split('\n')).not.toContain('vda')

    // Afterwards: no mount anywhere under the store, none of ours on the host, nothing running in it.
    expect(mountsUnder(storeDir)).toEqual([])
    expect(devMountsAnywhere()).toEqual([])
    expect(rootedIn(storeDir)).toEqual([])
    expect(readdirSync(join(storeDir, 'tmp'))).toEqual([])
    // The new version differs from the old by exactly the command's files: the /dev nodes,
    // the policy-rc.d and the resolv.conf bind left nothing behind.
    const changes = await diffTrees(tree('1'), tree('2'))
    expect(changes.map((c) => `${c.change} ${c.path}`)).toEqual([
      'added devs.txt',
      'added mounts.txt',
      'added procs.txt',
      'added x',
    ])
    const meta = JSON.parse(await readFile(store.metaFile('image', 'base', '2'), 'utf8'))
    expect(meta.source).toBe('image:base@1')
    expect(meta.changelog).toEqual([expect.stringMatching(/^exec: sh -c 'echo hi > \/x; .*' \(exit 0\) on base@1$/)])
    expect((await store.info('image', 'base', '2')).packed).toBeUndefined()
    const shown = JSON.parse(run(['show', 'base@2', '--json']).stdout)
    expect(shown.changelog).toEqual(meta.changelog)
  })

  it('exec: a failing command makes no version, kills what it started, and leaves the store exactly as it was', async () => {
    const before = await storeState()
    const r = run(['exec', 'base', '--', 'sh', '-c', 'echo y > /y; sleep 600 & exit 3'])
    expect(r.status).toBe(3)
    expect(r.stderr).toContain('IMGSWARM_ERR_EXEC_FAILED')
    expect(await store.versions('image', 'base')).toEqual(['1', '2'])
    expect(await storeState()).toEqual(before)
    expect(mountsUnder(storeDir)).toEqual([])
    expect(rootedIn(storeDir)).toEqual([])
  })

  it('exec: a command the image does not have is IMGSWARM_ERR_CHROOT, no version', async () => {
    const before = await storeState()
    const r = run(['exec', 'base', '--', '/usr/bin/no-such-tool'])
    expect(r.stderr).toContain('IMGSWARM_ERR_CHROOT')
    expect(r.status).toBe(1)
    expect(await storeState()).toEqual(before)
  })

  it('shell: a scripted stdin runs in the chroot; "exit" keeps the result, "exit 1" drops it', async () => {
    const keep = await shell('echo hi > /from-shell\nexit\n')
    expect(keep.status).toBe(0)
    expect(keep.stdout).toContain('base@3')
    expect(await readFile(join(tree('3'), 'from-shell'), 'utf8')).toBe('hi\n')
    const meta = JSON.parse(await readFile(store.metaFile('image', 'base', '3'), 'utf8'))
    expect(meta.changelog.at(-1)).toBe('shell (exit 0) on base@2')
    expect(meta.changelog).toHaveLength(2) // base@2's line is inherited

    const before = await storeState()
    const drop = await shell('echo no > /dropped\nexit 1\n')
    expect(drop.status).toBe(1)
    expect(await storeState()).toEqual(before)
    expect(mountsUnder(storeDir)).toEqual([])
  })

  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    it(`exec: ${sig} to imgswarm stops the command, exits 130, keeps nothing, leaves nothing running or mounted`, async () => {
      const before = await storeState()
      const child = spawn(
        BIN,
        ['image', 'exec', 'base', '--store', storeDir, '--', 'sh', '-c', 'touch /started; sleep 600'],
        {
          env: { ...process.env, IMGSWARM_FROM_SOURCE: '1', IMGSWARM_CONFIG: 'none' },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      )
      let stderr = ''
      child.stderr.setEncoding('utf8').on('data', (d: string) => {
        stderr += d
      })
      const tmp = join(storeDir, 'tmp')
      for (let i = 0; i < 600; i++) {
        const started = readdirSync(tmp).some((d) => existsSync(join(tmp, d, 'tree', 'started')))
        if (started) break
        await new Promise((r) => setTimeout(r, 100))
      }
      expect(rootedIn(storeDir).length).toBeGreaterThan(0) // the sleep is running in the chroot
      child.kill(sig)
      const code = await new Promise<number | null>((r) => child.on('close', r))
      expect(stderr).toContain('IMGSWARM_ERR_INTERRUPTED')
      expect(code).toBe(130)
      expect(rootedIn(storeDir)).toEqual([])
      expect(mountsUnder(storeDir)).toEqual([])
      expect(await storeState()).toEqual(before)
    })
  }

  it('shell on a terminal (script(1) gives it a pty): the terminal is visible inside, "exit" keeps the result', async () => {
    const versions = await store.versions('image', 'base')
    const child = spawn('script', ['-qec', `${BIN} image shell base --store ${storeDir}`, '/dev/null'], {
      env: { ...process.env, IMGSWARM_FROM_SOURCE: '1', IMGSWARM_CONFIG: 'none' },
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    let out = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d
    })
    // stdin stays open until the shell is done: script(1) ends the session at EOF.
    child.stdin.write('tty > /tty.txt; exit\n')
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
    await new Promise((r) => child.on('close', r))
    clearTimeout(timer)
    child.stdin.destroy()
    const next = String(Number(versions.at(-1)) + 1)
    expect(out).toContain(`base@${next}`)
    expect(await readFile(join(tree(next), 'tty.txt'), 'utf8')).toMatch(/^\/dev\/pts\/\d+\n$/)
    expect(mountsUnder(storeDir)).toEqual([])
  })

  describe('hostile images', () => {
    async function hostile(name: string, edit: (root: string) => Promise<void>): Promise<string> {
      const src = join(dir, `src-${name}`)
      busyboxTree(src)
      await edit(src)
      await store.import('image', src, name)
      return src
    }

    for (const [d, target] of [
      ['proc', '/'],
      ['sys', '/sys'],
      ['dev', '../../../../../../dev'],
    ] as const) {
      it(`/${d} as a symlink (-> ${target}) is refused: IMGSWARM_ERR_CHROOT, nothing mounted, no version`, async () => {
        const name = `evil-${d}`
        await hostile(name, async (root) => {
          await rm(join(root, d), { recursive: true })
          await symlink(target, join(root, d))
        })
        const mountsBefore = readFileSync('/proc/self/mountinfo', 'utf8')
        const before = await storeState()
        const r = run(['exec', name, '--', 'sh', '-c', 'echo pwned > /pwned'])
        expect(r.stderr).toContain('IMGSWARM_ERR_CHROOT')
        expect(r.stderr).toContain(`/${d} in the image is a symlink`)
        expect(r.status).toBe(1)
        expect(await store.versions('image', name)).toEqual(['1'])
        expect(await storeState()).toEqual(before)
        // Nothing new on the host's mount table at all (a proc over "/" would show here).
        const added = readFileSync('/proc/self/mountinfo', 'utf8')
          .split('\n')
          .filter((l) => !mountsBefore.includes(l))
        expect(added.filter((l) => / - (proc|sysfs|devpts) | imgswarm-dev /.test(l))).toEqual([])
        expect(existsSync('/pwned')).toBe(false)
      })
    }

    it('a symlinked /usr (-> /) gets no policy-rc.d written through it; a symlinked /etc gets no resolv.conf bind', async () => {
      const hostPolicy = existsSync('/usr/sbin/policy-rc.d')
      await hostile('evil-usr', async (root) => {
        await rm(join(root, 'usr'), { recursive: true })
        await symlink('/', join(root, 'usr'))
        await rm(join(root, 'etc'), { recursive: true })
        await mkdir(join(root, 'real-etc'))
        await writeFile(join(root, 'real-etc/resolv.conf'), 'nameserver 192.0.2.9\n')
        await symlink('real-etc', join(root, 'etc'))
      })
      const r = run(['exec', 'evil-usr', '--json', '--', 'sh', '-c', 'cat /proc/self/mountinfo > /m.txt'])
      expect(r.status).toBe(0)
      expect(JSON.parse(r.stdout)).toMatchObject({
        from: 'evil-usr@1',
        ref: 'evil-usr@2',
        status: 0,
        resolvConf: false,
        path: store.treeDir('image', 'evil-usr', '2'),
      })
      if (!hostPolicy) expect(existsSync('/usr/sbin/policy-rc.d')).toBe(false)
      const m = await readFile(join(store.treeDir('image', 'evil-usr', '2'), 'm.txt'), 'utf8')
      expect(m).not.toContain('resolv.conf')
      expect(m).toContain(' /proc ')
      expect(mountsUnder(storeDir)).toEqual([])
    })
  })

  it('editImage: an abort that comes before the command starts keeps the command from running at all', async () => {
    const before = await storeState()
    const ac = new AbortController()
    ac.abort()
    await expect(
      editImage(store, { ref: 'base', argv: ['sh', '-c', 'sleep 600'], label: 'exec', signal: ac.signal }),
    ).rejects.toMatchObject({ code: 'IMGSWARM_ERR_INTERRUPTED', exitCode: 130 })
    expect(rootedIn(storeDir)).toEqual([])
    expect(await storeState()).toEqual(before)
  })

  it('editImage: no command is a usage error, before anything is copied', async () => {
    await expect(editImage(store, { ref: 'base', argv: [], label: 'exec' })).rejects.toMatchObject({
      code: 'IMGSWARM_ERR_USAGE',
    })
  })

  function shell(input: string): Promise<{ status: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      const child = spawn(BIN, ['image', 'shell', 'base', '--store', storeDir], {
        env: { ...process.env, IMGSWARM_FROM_SOURCE: '1', IMGSWARM_CONFIG: 'none' },
        stdio: ['pipe', 'pipe', 'pipe'],
      })
      let stdout = ''
      let stderr = ''
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        stdout += d
      })
      child.stderr.setEncoding('utf8').on('data', (d: string) => {
        stderr += d
      })
      child.on('close', (status) => resolve({ status, stdout, stderr }))
      child.stdin.end(input)
    })
  }
})
