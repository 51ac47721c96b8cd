// Post-actions. The real reboot, poweroff and kexec -e would stop the machine
// running the tests, so the command selection and the kexec arguments are
// tested in dry-run mode against small trees standing in for the running
// system (systemRoot): a systemd host, a busybox initramfs, a bare one. The
// execution path runs for real only against such a tree, whose "reboot" is a
// script that records its arguments and whose /proc/sysrq-trigger is a file.
import { chmodSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { runPostAction } from '../../client/postaction/index.ts'
import { isImgswarmError } from '../../common/errors.ts'
import { tempDir } from '../support/tmp.ts'

function exe(root: string, path: string, body = '#!/bin/sh\nexit 0\n'): string {
  const p = join(root, path)
  mkdirSync(join(p, '..'), { recursive: true })
  writeFileSync(p, body)
  chmodSync(p, 0o755)
  return p
}

async function systemdHost(): Promise<string> {
  const r = await tempDir()
  mkdirSync(join(r, 'run/systemd/system'), { recursive: true })
  exe(r, 'usr/bin/systemctl')
  exe(r, 'usr/sbin/reboot')
  exe(r, 'usr/sbin/poweroff')
  return r
}

async function initramfs(): Promise<string> {
  const r = await tempDir()
  exe(r, 'bin/busybox')
  mkdirSync(join(r, 'sbin'))
  symlinkSync('../bin/busybox', join(r, 'sbin/reboot'))
  return r
}

const dry = (root: string) => ({ target: null, dryRun: true, systemRoot: root })

describe('reboot and poweroff: chosen by what the running system has', () => {
  it('systemd running: systemctl, then the direct command, then sysrq', async () => {
    const r = await systemdHost()
    const said: string[] = []
    const res = await runPostAction('reboot', { ...dry(r), say: (m) => said.push(m) })
    expect(res.executed).toBe(false)
    expect(res.steps.execute).toEqual([
      { argv: [join(r, 'usr/bin/systemctl'), 'reboot'] },
      { argv: [join(r, 'usr/sbin/reboot'), '-f'] },
      { sysrq: 'sub' },
    ])
    expect(said[0]).toBe(`post-action reboot (dry run): would run ${join(r, 'usr/bin/systemctl')} reboot`)
    expect((await runPostAction('poweroff', dry(r))).steps.execute[0]).toEqual({
      argv: [join(r, 'usr/bin/systemctl'), 'poweroff'],
    })
  })

  it('systemctl installed but systemd not running (initramfs of a systemd distro): no systemctl', async () => {
    const r = await systemdHost()
    rmSync(join(r, 'run'), { recursive: true })
    expect((await runPostAction('reboot', dry(r))).steps.execute[0]).toEqual({
      argv: [join(r, 'usr/sbin/reboot'), '-f'],
    })
  })

  it('busybox initramfs: reboot -f through its applet link, busybox poweroff -f without one', async () => {
    const r = await initramfs()
    expect((await runPostAction('reboot', dry(r))).steps.execute).toEqual([
      { argv: [join(r, 'sbin/reboot'), '-f'] },
      { sysrq: 'sub' },
    ])
    expect((await runPostAction('poweroff', dry(r))).steps.execute).toEqual([
      { argv: [join(r, 'bin/busybox'), 'poweroff', '-f'] },
      { sysrq: 'suo' },
    ])
  })

  it('nothing at all: the kernel sysrq trigger', async () => {
    const r = await tempDir()
    expect((await runPostAction('poweroff', dry(r))).steps).toEqual({ prepare: [], execute: [{ sysrq: 'suo' }] })
  })

  it('runs the first way, and falls back when it fails (against a stand-in system, never this one)', async () => {
    const r = await tempDir()
    const log = join(r, 'log')
    exe(r, 'sbin/reboot', `#!/bin/sh\necho "reboot $*" >> ${log}\nexit 0\n`)
    let before = 0
    const res = await runPostAction('reboot', {
      target: null,
      dryRun: false,
      systemRoot: r,
      beforeExecute: async () => {
        before++
      },
    })
    expect(res.executed).toBe(true)
    expect(before).toBe(1)
    expect(readFileSync(log, 'utf8')).toBe('reboot -f\n')

    exe(r, 'sbin/reboot', `#!/bin/sh\necho "reboot $*" >> ${log}\nexit 1\n`)
    mkdirSync(join(r, 'proc'))
    writeFileSync(join(r, 'proc/sysrq-trigger'), '')
    await runPostAction('reboot', { target: null, dryRun: false, systemRoot: r })
    expect(readFileSync(log, 'utf8')).toBe('reboot -f\nreboot -f\n')
    // Each letter is its own write; the last one stays in the stand-in file.
    expect(readFileSync(join(r, 'proc/sysrq-trigger'), 'utf8')).toBe('b')
  })
})

describe('kexec into the installed system', () => {
  async function installed(): Promise<string> {
    const t = await tempDir()
    mkdirSync(join(t, 'boot'))
    mkdirSync(join(t, 'etc'))
    for (const v of ['6.1.0-9-amd64', '6.1.0-10-amd64']) {
      writeFileSync(join(t, `boot/vmlinuz-${v}`), 'k')
      writeFileSync(join(t, `boot/initrd.img-${v}`), 'i')
    }
    writeFileSync(
      join(t, 'etc/fstab'),
      '# x\nUUID=0f0e-root / ext4 defaults 0 1\nUUID=e5p /boot/efi vfat umask=0077 0 2\n',
    )
    return t
  }

  async function withKexec(): Promise<string> {
    const r = await initramfs()
    exe(r, 'usr/sbin/kexec')
    mkdirSync(join(r, 'proc'))
    writeFileSync(join(r, 'proc/cmdline'), 'imgswarm.server=http://s console=tty0 console=ttyS0,115200n8 quiet\n')
    return r
  }

  it('loads the newest kernel and its initrd with root=UUID from fstab and this boot console=, then kexec -e', async () => {
    const t = await installed()
    const r = await withKexec()
    const res = await runPostAction('kexec', { target: t, dryRun: true, systemRoot: r })
    const kexec = join(r, 'usr/sbin/kexec')
    expect(res.steps).toEqual({
      prepare: [
        {
          argv: [
            kexec,
            '-l',
            join(t, 'boot/vmlinuz-6.1.0-10-amd64'),
            `--initrd=${join(t, 'boot/initrd.img-6.1.0-10-amd64')}`,
            '--command-line=root=UUID=0f0e-root ro console=tty0 console=ttyS0,115200n8',
          ],
        },
      ],
      execute: [{ argv: [kexec, '-e'] }],
    })
    const given = await runPostAction('kexec', { target: t, dryRun: true, systemRoot: r, rootUuid: 'given' })
    expect(JSON.stringify(given.steps.prepare)).toContain('--command-line=root=UUID=given ro')
  })

  it('refuses with IMGSWARM_ERR_POST_ACTION: no tree, no kexec, no kernel, no root in fstab', async () => {
    const t = await installed()
    const r = await withKexec()
    const code = async (p: Promise<unknown>) =>
      p.then(
        () => 'no error',
        (e: unknown) => (isImgswarmError(e, 'IMGSWARM_ERR_POST_ACTION') ? e.message : String(e)),
      )
    expect(await code(runPostAction('kexec', { target: null, dryRun: true, systemRoot: r }))).toMatch(/mounted/)
    expect(await code(runPostAction('kexec', { target: t, dryRun: true, systemRoot: await initramfs() }))).toMatch(
      /kexec is missing/,
    )
    writeFileSync(join(t, 'etc/fstab'), '/dev/sda1 / ext4 defaults 0 1\n')
    expect(await code(runPostAction('kexec', { target: t, dryRun: true, systemRoot: r }))).toMatch(/no UUID= entry/)
    const empty = await tempDir()
    expect(await code(runPostAction('kexec', { target: empty, dryRun: true, systemRoot: r }))).toMatch(/no kernel/)
  })
})

describe('shell and none', () => {
  it('shell would start /bin/sh on the console; none does nothing', async () => {
    const r = await tempDir()
    expect((await runPostAction('shell', dry(r))).steps.execute).toEqual([{ argv: ['/bin/sh'] }])
    const none = await runPostAction('none', { target: null, dryRun: false, systemRoot: r })
    expect(none).toEqual({ action: 'none', steps: { prepare: [], execute: [] }, executed: true })
  })
})
