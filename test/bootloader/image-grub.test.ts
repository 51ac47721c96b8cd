// GRUB installed from the image's own GRUB, in a chroot, on a loop disk.
// The "image" gets a real GRUB and userland without a copy: its /usr is an
// overlay of this machine's /usr (read-only below, writes go to a scratch
// dir), with /etc/grub.d and /etc/default/grub as Debian ships them. This
// machine has no udevadm, which a Debian image has (udev): the overlay adds
// a stand-in answering the one query grub makes, as the image's own.
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { installBootloader } from '../../client/bootloader/index.ts'
import { scratchDir, sh } from '../disks/loop.ts'
import { isRoot } from '../support/tmp.ts'
import { diskToolsMissing, KERNELS, sectors, targetDisk } from './disk.ts'

const needs = [
  '/usr/sbin/grub-install',
  '/usr/sbin/grub-mkconfig',
  '/usr/lib/grub/i386-pc',
  '/usr/lib/grub/x86_64-efi',
  '/etc/grub.d/10_linux',
]
const missing = [...diskToolsMissing(), ...needs.filter((p) => !existsSync(p))]
const why = !isRoot
  ? 'not root'
  : missing.length > 0
    ? `missing ${missing.join(' ')} (scripts/install-deps.sh test)`
    : ''
if (why !== '') console.warn(`test/bootloader: skipped: ${why}`)

describe.skipIf(why !== '')("installBootloader with the image's own GRUB (chroot)", () => {
  it('grub-install for BIOS and UEFI, then grub-mkconfig from /etc/grub.d, root by UUID', async () => {
    const { dev, target, applied, rootUuid } = await targetDisk()
    const scratch = scratchDir()
    for (const d of ['upper', 'work']) mkdirSync(join(scratch, d), { recursive: true })
    sh('mount', [
      '-t',
      'overlay',
      'overlay',
      '-o',
      `lowerdir=/usr,upperdir=${scratch}/upper,workdir=${scratch}/work`,
      join(target, 'usr'),
    ])
    cpSync('/etc/grub.d', join(target, 'etc/grub.d'), { recursive: true })
    mkdirSync(join(target, 'etc/default'))
    writeFileSync(
      join(target, 'etc/default/grub'),
      'GRUB_DEFAULT=0\nGRUB_TIMEOUT=1\nGRUB_DISTRIBUTOR=Debian\nGRUB_CMDLINE_LINUX_DEFAULT="quiet"\nGRUB_CMDLINE_LINUX=""\n',
    )
    const hostDevDisk = existsSync('/dev/disk')

    const r = await installBootloader(target, applied, { removable: true })
    expect(r).toEqual({
      grub: 'image',
      platforms: ['i386-pc', 'x86_64-efi'],
      config: 'grub-mkconfig',
      configPath: join(target, 'boot/grub/grub.cfg'),
    })
    expect(sectors(dev, 0).includes('GRUB')).toBe(true)
    const diskboot = readFileSync('/usr/lib/grub/i386-pc/diskboot.img')
    expect(sectors(`${dev}p1`, 0).subarray(0, 0x100).equals(diskboot.subarray(0, 0x100))).toBe(true)
    expect(readFileSync(join(target, 'boot/efi/EFI/BOOT/BOOTX64.EFI')).subarray(0, 2).toString('latin1')).toBe('MZ')

    const cfg = readFileSync(join(target, 'boot/grub/grub.cfg'), 'utf8')
    expect(cfg).toContain('### BEGIN /etc/grub.d/10_linux ###')
    expect(cfg).toMatch(new RegExp(`linux\\s+/boot/vmlinuz-${KERNELS[1]} root=UUID=${rootUuid} ro\\s+quiet`))
    expect(cfg).toContain(`search --no-floppy --fs-uuid --set=root ${rootUuid}`)
    // Nothing was added to the image; the /dev/disk links lived only inside the chroot.
    expect(readdirSync(join(scratch, 'upper'))).toEqual([])
    expect(existsSync('/dev/disk')).toBe(hostDevDisk)
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(`${target}/dev`)
  })
})
