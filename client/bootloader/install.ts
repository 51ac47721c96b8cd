// Installs GRUB on an applied disk for BIOS (i386-pc) and/or UEFI
// (x86_64-efi), then its config. The image's own GRUB (in a chroot) when it
// has one, so its grub.cfg comes from its own grub-mkconfig and /etc/grub.d;
// otherwise this machine's GRUB and a grub.cfg of our own. docs/bootloader.md.
import { lstat } from 'node:fs/promises'
import { errors } from '../../common/errors.ts'
import { type AppliedDisk, type AppliedPartition, type CommandRunner, createCommandRunner } from '../disks/index.ts'
import { resolveInTarget, targetDirectory, writeTargetFile } from '../identity/index.ts'
import { grubCfg } from './grubcfg.ts'
import { imageGrub } from './image.ts'
import { findKernels } from './kernels.ts'
import { checkHostGrub, checkImageGrub, hostToolPath, imageHasGrub, type Platform } from './tools.ts'

export interface BootloaderInit {
  /** UEFI: install to the firmware's fallback path EFI/BOOT/BOOTX64.EFI too. */
  removable?: boolean
  /** Runs everything; default: the real tools (with a udevadm stand-in when this machine has none). */
  runner?: CommandRunner
  say?: (msg: string) => void
  signal?: AbortSignal
  /** Where the ESP is mounted, as the installed system names it; default its mount point in the layout. */
  espMount?: string
  /** This machine's GRUB platform files; default /usr/lib/grub. */
  grubLibDir?: string
}

export interface BootloaderResult {
  grub: 'image' | 'host'
  platforms: Platform[]
  /** Who wrote /boot/grub/grub.cfg. */
  config: 'grub-mkconfig' | 'imgswarm'
  /** Host path of grub.cfg. */
  configPath: string
}

export async function installBootloader(
  target: string,
  applied: AppliedDisk,
  init: BootloaderInit = {},
): Promise<BootloaderResult> {
  const say = init.say ?? (() => {})
  const sig = init.signal === undefined ? {} : { signal: init.signal }
  const byMount = (m: string) => applied.partitions.find((p) => p.mount === m)
  const root = byMount('/')
  if (root?.uuid === undefined) throw errors.bootloader('the layout has no root (/) file system')
  const esp = applied.partitions.find((p) => p.flags.includes('esp'))
  const platforms = choosePlatforms(applied, esp)
  const espMount = init.espMount ?? esp?.mount
  if (esp !== undefined && espMount === undefined)
    throw errors.bootloader('the ESP has no mount point', 'give the "esp" partition mount = "/boot/efi" in the layout')

  const kernels = await findKernels(target)
  if (kernels.length === 0)
    throw errors.bootloader(
      'the image has no kernel (/boot/vmlinuz-VERSION)',
      'an image installed to a disk must carry its kernel: install linux-image-amd64 (or another) in the image',
    )
  const efiArgs = ['--no-nvram', ...(init.removable ? ['--removable'] : [])]

  if (await imageHasGrub(target)) {
    await checkImageGrub(target, platforms)
    say(`GRUB from the image for ${platforms.join(' + ')} on ${applied.device}`)
    const run = init.runner ?? createCommandRunner()
    await imageGrub(target, applied, { platforms, espMount, efiArgs, run, say, sig })
    return { grub: 'image', platforms, config: 'grub-mkconfig', configPath: await checkCfg(target) }
  }

  await checkHostGrub(platforms, init.grubLibDir ?? '/usr/lib/grub')
  const tools = init.runner === undefined ? await hostToolPath() : undefined
  try {
    const run = init.runner ?? createCommandRunner({ path: tools?.path as string })
    const bootDir = await targetDirectory(target, '/boot')
    const lib = init.grubLibDir === undefined ? [] : [`--directory=${init.grubLibDir}/PLATFORM`]
    say(`the image has no GRUB: this machine's GRUB for ${platforms.join(' + ')} on ${applied.device}`)
    for (const p of platforms) {
      const dirs = lib.map((a) => a.replace('PLATFORM', p))
      const where =
        p === 'i386-pc'
          ? [applied.device]
          : [`--efi-directory=${await targetDirectory(target, espMount as string)}`, ...efiArgs]
      await run.run('grub-install', [`--target=${p}`, `--boot-directory=${bootDir}`, ...dirs, ...where], sig)
      say(`grub-install --target=${p} done`)
    }
  } finally {
    await tools?.cleanup()
  }
  const boot = byMount('/boot') ?? root
  const cfg = grubCfg({
    rootUuid: root.uuid,
    bootUuid: boot.uuid as string,
    bootFs: boot.fs,
    separateBoot: boot !== root,
    table: applied.table,
    kernels,
  })
  await writeTargetFile(target, '/boot/grub/grub.cfg', cfg)
  say(`wrote /boot/grub/grub.cfg: root UUID=${root.uuid}, kernel ${kernels[0]?.version}`)
  return { grub: 'host', platforms, config: 'imgswarm', configPath: await checkCfg(target) }
}

/** BIOS needs the post-MBR gap (msdos) or a bios_grub partition (gpt); UEFI needs an ESP. */
function choosePlatforms(applied: AppliedDisk, esp: AppliedPartition | undefined): Platform[] {
  const bios = applied.table === 'msdos' || applied.partitions.some((p) => p.flags.includes('bios_grub'))
  const platforms: Platform[] = [...(bios ? ['i386-pc' as const] : []), ...(esp ? ['x86_64-efi' as const] : [])]
  if (platforms.length === 0)
    throw errors.bootloader(
      'this GPT layout has neither a bios_grub partition (BIOS) nor an ESP (UEFI)',
      'add a 1 MiB partition with flags = ["bios_grub"], or an "esp" vfat partition, to the layout (docs/disk-layout.md)',
    )
  return platforms
}

async function checkCfg(target: string): Promise<string> {
  const at = await resolveInTarget(target, '/boot/grub/grub.cfg')
  const ok = await lstat(at).then(
    (s) => s.isFile() && s.size > 0,
    () => false,
  )
  if (!ok) throw errors.bootloader('grub.cfg was not written (/boot/grub/grub.cfg is missing or empty)')
  return at
}
