// GRUB installed for real on a loop disk from this machine's GRUB (the tree
// has none of its own): BIOS boot code in sector 0 and the core image in the
// bios_grub partition, UEFI to an ESP mounted with fusefat, and our grub.cfg.
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { installBootloader } from '../../client/bootloader/index.ts'
import { isRoot } from '../support/tmp.ts'
import { diskToolsMissing, KERNELS, sectors, targetDisk } from './disk.ts'

const missing = [
  ...diskToolsMissing(),
  ...['/usr/sbin/grub-install', '/usr/lib/grub/i386-pc', '/usr/lib/grub/x86_64-efi'].filter((p) => !existsSync(p)),
]
const why = !isRoot
  ? 'not root'
  : missing.length > 0
    ? `missing ${missing.join(' ')} (scripts/install-deps.sh test)`
    : ''
if (why !== '') console.warn(`test/bootloader: skipped: ${why}`)

describe.skipIf(why !== '')("installBootloader with this machine's GRUB", () => {
  it('BIOS + UEFI (removable) on GPT, and a grub.cfg naming the root UUID and the newest kernel', async () => {
    const { dev, target, applied, rootUuid } = await targetDisk()
    const said: string[] = []
    const r = await installBootloader(target, applied, { removable: true, say: (m) => said.push(m) })
    expect(r).toEqual({
      grub: 'host',
      platforms: ['i386-pc', 'x86_64-efi'],
      config: 'imgswarm',
      configPath: join(target, 'boot/grub/grub.cfg'),
    })

    // BIOS: GRUB's boot.img in the MBR (it carries the string "GRUB"), the
    // partition table kept, and core.img (starting with diskboot.img) in bios_grub.
    const mbr = sectors(dev, 0)
    expect(mbr.includes('GRUB')).toBe(true)
    expect(mbr.readUInt16LE(510)).toBe(0xaa55)
    const diskboot = readFileSync('/usr/lib/grub/i386-pc/diskboot.img')
    const core = sectors(`${dev}p1`, 0, 2048)
    expect(core.subarray(0, 0x100).equals(diskboot.subarray(0, 0x100))).toBe(true)
    expect(core.subarray(512).some((b) => b !== 0)).toBe(true)
    expect(existsSync(join(target, 'boot/grub/i386-pc/normal.mod'))).toBe(true)

    // UEFI: the fallback loader on the ESP is a PE image ("MZ").
    const efi = readFileSync(join(target, 'boot/efi/EFI/BOOT/BOOTX64.EFI'))
    expect(efi.subarray(0, 2).toString('latin1')).toBe('MZ')
    expect(existsSync(join(target, 'boot/grub/x86_64-efi/normal.mod'))).toBe(true)

    const cfg = readFileSync(join(target, 'boot/grub/grub.cfg'), 'utf8')
    expect(cfg).toContain(`search --no-floppy --fs-uuid --set=root ${rootUuid}\n`)
    expect(cfg).toContain('insmod part_gpt\ninsmod ext2\n')
    const newest = KERNELS[1]
    expect(cfg).toContain(
      `menuentry 'Linux ${newest}' --id default {\n\tlinux /boot/vmlinuz-${newest} root=UUID=${rootUuid} ro quiet\n\tinitrd /boot/initrd.img-${newest}\n}`,
    )
    expect(cfg.indexOf(`Linux ${KERNELS[1]}`)).toBeLessThan(cfg.indexOf(`Linux ${KERNELS[0]}`))
    expect(said.at(-1)).toBe(`wrote /boot/grub/grub.cfg: root UUID=${rootUuid}, kernel ${newest}`)
  })
})
