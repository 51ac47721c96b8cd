// The grub.cfg imgswarm writes when the image has no GRUB of its own, so
// grub-mkconfig (which describes the system it runs on) cannot run for it.
import type { Kernel } from './kernels.ts'

export interface GrubCfgInit {
  /** File system UUID of the root file system (root= for the kernel). */
  rootUuid: string
  /** File system holding /boot (the root's unless /boot is its own). */
  bootUuid: string
  bootFs: string
  /** True when /boot is its own file system: kernel paths are then relative to it. */
  separateBoot: boolean
  table: 'gpt' | 'msdos'
  kernels: Kernel[]
  /** Extra kernel parameters; default "ro quiet". */
  cmdline?: string
}

const FS_MODULE: Record<string, string> = { ext4: 'ext2', xfs: 'xfs', vfat: 'fat' }

export function grubCfg(c: GrubCfgInit): string {
  const path = (p: string) => (c.separateBoot ? p.replace(/^\/boot(?=\/)/, '') : p)
  const args = `root=UUID=${c.rootUuid} ${c.cmdline ?? 'ro quiet'}`
  const entries = c.kernels.map((k, i) =>
    [
      `menuentry 'Linux ${k.version}'${i === 0 ? ' --id default' : ''} {`,
      `\tlinux ${path(k.kernel)} ${args}`,
      ...(k.initrd === undefined ? [] : [`\tinitrd ${path(k.initrd)}`]),
      '}',
    ].join('\n'),
  )
  return [
    '# Written by imgswarm: the image has no GRUB of its own, so grub-mkconfig',
    '# could not describe it. See docs/bootloader.md. Newest kernel first.',
    'set default=0',
    'set timeout=3',
    `insmod ${c.table === 'gpt' ? 'part_gpt' : 'part_msdos'}`,
    `insmod ${FS_MODULE[c.bootFs] ?? c.bootFs}`,
    `search --no-floppy --fs-uuid --set=root ${c.bootUuid}`,
    ...entries,
    '',
  ].join('\n')
}
