// A GPT loop disk laid out for both firmwares (bios_grub, ESP, ext4 root),
// mounted as a target with a minimal tree and fake kernels in /boot. The
// kernel here has no vfat, so the ESP is mounted with fusefat (a FUSE FAT
// driver), with the partition as the mount's source name so GRUB can find
// the device under it.
import { closeSync, mkdirSync, openSync, readSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { type AppliedDisk, applyLayout, mountAll } from '../../client/disks/index.ts'
import { parseLayout } from '../../common/layout/index.ts'
import { haveTools, loopDisk, scratchDir, sh } from '../disks/loop.ts'

export const LAYOUT = parseLayout(
  `table = "gpt"
[[partition]]
label = "biosboot"
size = "1MiB"
flags = ["bios_grub"]
[[partition]]
label = "esp"
size = "40MiB"
fs = "vfat"
mount = "/boot/efi"
flags = ["esp"]
[[partition]]
label = "root"
size = "grow"
fs = "ext4"
mount = "/"
mkfs_options = ["-O", "^metadata_csum_seed"]
`,
  'bootloader-test.toml',
)

export const KERNELS = ['6.1.0-9-amd64', '6.1.0-10-amd64']

export function diskToolsMissing(): string[] {
  return haveTools('losetup', 'sfdisk', 'wipefs', 'partx', 'blkid', 'mkfs.ext4', 'mkfs.vfat', 'fusefat')
}

export interface TargetDisk {
  dev: string
  target: string
  applied: AppliedDisk
  rootUuid: string
}

/** Lays out a loop disk, mounts root (ext4) and the ESP (fusefat), and writes a tree with two fake kernels. */
export async function targetDisk(): Promise<TargetDisk> {
  const { dev } = await loopDisk(160 * 2 ** 20)
  const applied = await applyLayout(dev, LAYOUT)
  const target = join(scratchDir(), 'target')
  mkdirSync(target)
  // Root only through mountAll: the kernel cannot mount vfat here.
  const rootOnly = {
    ...applied,
    resolved: { ...applied.resolved, partitions: applied.resolved.partitions.filter((p) => p.fs === 'ext4') },
  }
  await mountAll(rootOnly, target)
  const esp = applied.partitions.find((p) => p.flags.includes('esp'))?.device as string
  mkdirSync(join(target, 'boot/efi'), { recursive: true })
  sh('fusefat', ['-o', `rw+,fsname=${esp}`, esp, join(target, 'boot/efi')])
  // Debian's merged /usr.
  for (const d of ['etc', 'usr/bin', 'usr/sbin', 'usr/lib', 'usr/lib64'])
    mkdirSync(join(target, d), { recursive: true })
  for (const d of ['bin', 'sbin', 'lib', 'lib64']) symlinkSync(`usr/${d}`, join(target, d))
  for (const k of KERNELS) {
    writeFileSync(join(target, `boot/vmlinuz-${k}`), `fake kernel ${k}\n`)
    writeFileSync(join(target, `boot/initrd.img-${k}`), `fake initrd ${k}\n`)
  }
  const rootUuid = sh('blkid', ['-p', '-s', 'UUID', '-o', 'value', `${dev}p3`]).trim()
  return { dev, target, applied, rootUuid }
}

/** `count` 512-byte sectors of a device or file from sector `n`. */
export function sectors(file: string, n: number, count = 1): Buffer {
  const fd = openSync(file, 'r')
  try {
    const b = Buffer.alloc(count * 512)
    readSync(fd, b, 0, b.length, n * 512)
    return b
  } finally {
    closeSync(fd)
  }
}
