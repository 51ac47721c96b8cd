// The boot image's /init on its failure paths, in QEMU (TCG unless KVM really
// works): a hostile kernel parameter stops the client, and /init frames the
// error and powers off as imgswarm.post=poweroff asks; a node with two disks
// and no imgswarm.disk= is not guessed at. QEMU's user-mode network (slirp)
// answers DHCP, so no namespace is needed.
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

/** Boots the installer with `append`; resolves with the serial output when QEMU exits (or is killed after ms). */
async function boot(o: { dir: string; name: string; append: string; disks: number; accel: string[] }): Promise<string> {
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
      ...['-m', '768', '-smp', '1', '-display', 'none', '-monitor', 'none', '-no-reboot', '-serial', `file:${log}`],
      ...['-kernel', join(o.dir, 'boot/kernel'), '-initrd', join(o.dir, 'boot/initramfs')],
      // no_timer_check: a loaded TCG host can fail the kernel's IO-APIC timer check and panic.
      ...['-append', `console=ttyS0 no_timer_check ${o.append}`, '-nic', 'user,model=virtio-net-pci', ...drives],
    ],
    { stdio: 'ignore' },
  )
  const t = setTimeout(() => child.kill('SIGKILL'), 6 * 60_000)
  await new Promise((r) => child.on('exit', r))
  clearTimeout(t)
  // biome-ignore lint/suspicious/noControlCharactersInRegex: removing terminal escapes is the point
  return (await readFile(log, 'utf8')).replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/\r/g, '\n')
}

describe.runIf(isRoot && haveTool('qemu-system-x86_64') && haveTool('apt-get'))('/init failure paths (QEMU)', () => {
  it(
    'frames the client error and powers off; refuses to guess between two disks',
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
        boot({
          dir,
          name: 'two-disks',
          append: 'imgswarm.server=http://10.0.2.2:1 imgswarm.post=poweroff',
          disks: 2,
          accel,
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
      expect(twoDisks).toMatch(/reboot: Power down/)
    },
    15 * 60_000,
  )
})
