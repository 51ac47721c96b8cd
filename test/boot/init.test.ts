// The boot image's /init on its failure paths, in QEMU (TCG unless KVM really
// works): a hostile kernel parameter stops the client, and /init frames the
// error and powers off as imgswarm.post=poweroff asks; a node with two disks
// and no imgswarm.disk= is not guessed at, and without imgswarm.post /init
// leaves a working shell on the console (the test types into it). The first
// VM gets its address by DHCP from QEMU's user-mode network (slirp), the
// second a static imgswarm.ip=, so no namespace is needed.
import { spawn } from 'node:child_process'
import { readFile, truncate, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { buildBootImage } from '../../initramfs/index.ts'
import { isRoot, tempDir } from '../support/tmp.ts'
import { haveTool } from '../support/tools.ts'
import { killAll, probeAccel } from './vm.ts'

const CACHE = process.env.IMGSWARM_TEST_BOOT_CACHE ?? '/var/tmp/imgswarm-test-boot-cache'
const MiB = 1024 * 1024

afterAll(() => killAll())

/** Strips terminal escapes and carriage returns from serial output. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: removing terminal escapes is the point
const plain = (s: string) => s.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/\r/g, '\n')

/**
 * Boots the installer with `append`; resolves with the serial output when QEMU
 * exits (or is killed after 6 minutes). `type`: once the output matches
 * `when`, these lines are typed on the serial console, one every 2 s.
 */
async function boot(o: {
  dir: string
  name: string
  append: string
  disks: number
  accel: string[]
  type?: { when: RegExp; lines: string[] }
}): Promise<string> {
  const log = join(o.dir, `${o.name}.serial.log`)
  const drives: string[] = []
  for (let i = 0; i < o.disks; i++) {
    const f = join(o.dir, `${o.name}-${i}.img`)
    await writeFile(f, '')
    await truncate(f, 64 * MiB)
    drives.push('-drive', `file=${f},format=raw,if=virtio`)
  }
  const child = spawn(
    'qemu-system-x86_64',
    [
      ...o.accel,
      ...['-m', '768', '-smp', '1', '-display', 'none', '-monitor', 'none', '-no-reboot'],
      // The serial console on QEMU's stdin/stdout (so the test can type), and in the log file.
      ...['-chardev', `stdio,id=s0,signal=off,logfile=${log}`, '-serial', 'chardev:s0'],
      ...['-kernel', join(o.dir, 'boot/kernel'), '-initrd', join(o.dir, 'boot/initramfs')],
      // no_timer_check: a loaded TCG host can fail the kernel's IO-APIC timer check and panic.
      ...['-append', `console=ttyS0 no_timer_check ${o.append}`, '-nic', 'user,model=virtio-net-pci', ...drives],
    ],
    { stdio: ['pipe', 'pipe', 'ignore'] },
  )
  child.stdin.on('error', () => {})
  let out = ''
  let typing = false
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString()
    if (o.type && !typing && o.type.when.test(plain(out))) {
      typing = true
      const lines = [...o.type.lines]
      const next = () => {
        const l = lines.shift()
        if (l === undefined || child.exitCode !== null) return
        child.stdin.write(`${l}\n`)
        setTimeout(next, 2000)
      }
      // The shell starts a moment after its greeting.
      setTimeout(next, 3000)
    }
  })
  const t = setTimeout(() => child.kill('SIGKILL'), 6 * 60_000)
  await new Promise((r) => child.on('exit', r))
  clearTimeout(t)
  return plain(await readFile(log, 'utf8'))
}

describe.runIf(isRoot && haveTool('qemu-system-x86_64') && haveTool('apt-get'))('/init failure paths (QEMU)', () => {
  it(
    'frames the client error and powers off; refuses to guess between two disks and leaves a working shell',
    async () => {
      const dir = await tempDir('imgswarm-init-')
      await buildBootImage({ outDir: join(dir, 'boot'), cacheDir: CACHE })
      const accel = await probeAccel(join(dir, 'boot/kernel'), join(dir, 'kvm-probe.log'))
      const [hostile, twoDisks] = await Promise.all([
        // A server URL the client must refuse (not http/https): exit status 2 before any disk is touched.
        boot({
          dir,
          name: 'hostile',
          append: 'imgswarm.server=ftp://10.0.2.2/ imgswarm.post=poweroff',
          disks: 1,
          accel,
        }),
        // No imgswarm.post: the failure ends in a shell, which the test uses and then powers off.
        // A static address on slirp's network (10.0.2.0/24, gateway 10.0.2.2, DNS 10.0.2.3).
        boot({
          dir,
          name: 'two-disks',
          append: 'imgswarm.server=http://10.0.2.2:1 imgswarm.ip=10.0.2.16/24,10.0.2.2,10.0.2.3',
          disks: 2,
          accel,
          type: {
            when: /'poweroff -f' or 'reboot -f' ends this boot/,
            lines: ['echo SHELL-$((6*7)) $(cat /etc/resolv.conf)', 'poweroff -f'],
          },
        }),
      ])
      expect(hostile).toMatch(/imgswarm installer/)
      expect(hostile).toMatch(/DHCP lease 10\.0\.2\.15/)
      expect(hostile).toMatch(/IMGSWARM_ERR_CMDLINE/)
      expect(hostile).toMatch(/THE INSTALL FAILED: imgswarm install exited with status 2/)
      expect(hostile).toMatch(/imgswarm\.post=poweroff: powering off/)
      expect(hostile).toMatch(/reboot: Power down/)
      expect(twoDisks).toMatch(
        /several disks \( \/dev\/vda \/dev\/vdb \): say which one to install to with imgswarm\.disk=/,
      )
      expect(twoDisks).toMatch(/THE INSTALL FAILED: no disk to install to/)
      expect(twoDisks).not.toMatch(/starting the install client/)
      // The static address is on the NIC, with no DHCP asked for.
      expect(twoDisks).toMatch(/imgswarm: {3}eth0 52:54:00:12:34:56 up 10\.0\.2\.16\/24/)
      expect(twoDisks).not.toMatch(/DHCP lease/)
      // Without imgswarm.post: a shell on the console, which runs what is typed (only the shell
      // turns $((6*7)) into 42) and sees the DNS server of imgswarm.ip=.
      expect(twoDisks).toMatch(/imgswarm: starting a shell/)
      expect(twoDisks).toMatch(/SHELL-42 nameserver 10\.0\.2\.3/)
      expect(twoDisks).toMatch(/reboot: Power down/)
    },
    15 * 60_000,
  )
})
