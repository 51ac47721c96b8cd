// Finding GRUB: in the image (used through a chroot) or on this machine.
import { access, chmod, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { errors } from '../../common/errors.ts'
import { firstExecutable } from '../../common/exec.ts'
import { isFileInTarget, targetExecutable } from '../identity/index.ts'

export type Platform = 'i386-pc' | 'x86_64-efi'

/** Debian packages, for the "install it" hints. */
export const PLATFORM_PACKAGE: Record<Platform, string> = {
  'i386-pc': 'grub-pc-bin',
  'x86_64-efi': 'grub-efi-amd64-bin',
}
export const GRUB_INSTALL = '/usr/sbin/grub-install'
export const GRUB_MKCONFIG = '/usr/sbin/grub-mkconfig'

/** The image has GRUB when it has grub-install; then it must have all we need, or we stop. */
export async function imageHasGrub(target: string): Promise<boolean> {
  return (await targetExecutable(target, GRUB_INSTALL)) !== undefined
}

export async function checkImageGrub(target: string, platforms: Platform[]): Promise<void> {
  if ((await targetExecutable(target, GRUB_MKCONFIG)) === undefined)
    throw errors.bootloaderTool(GRUB_MKCONFIG, 'in the image', ['grub2-common'])
  for (const p of platforms) {
    if (!(await isFileInTarget(target, `/usr/lib/grub/${p}/modinfo.sh`)))
      throw errors.bootloaderTool(`GRUB for ${p} (/usr/lib/grub/${p})`, 'in the image', [PLATFORM_PACKAGE[p]])
  }
}

export function searchPath(): string[] {
  return [...(process.env.PATH ?? '/usr/bin:/bin').split(':'), '/usr/sbin', '/sbin'].filter((d) => d !== '')
}

export async function which(tool: string, dirs = searchPath()): Promise<string | undefined> {
  return firstExecutable(dirs, tool)
}

export async function checkHostGrub(platforms: Platform[], libDir: string): Promise<void> {
  if ((await which('grub-install')) === undefined)
    throw errors.bootloaderTool('grub-install', 'on this machine', [
      'grub2-common',
      ...platforms.map((p) => PLATFORM_PACKAGE[p]),
    ])
  for (const p of platforms) {
    if (
      !(await access(join(libDir, p, 'modinfo.sh')).then(
        () => true,
        () => false,
      ))
    )
      throw errors.bootloaderTool(`GRUB for ${p} (${join(libDir, p)})`, 'on this machine', [PLATFORM_PACKAGE[p]])
  }
}

// grub-install finds where a partition starts through `udevadm info --query
// path`, and falls back to an ioctl that loop devices (and some other
// drivers) lack. Without udev (the initramfs has none) we answer that one
// query from sysfs, which is all udevadm would do.
export const UDEVADM_SHIM = `#!/bin/sh
# imgswarm: stands in for "udevadm info --query path --name DEV" (the one query grub-install makes)
for last; do :; done
n=$(basename "$(readlink -f "$last")")
p=$(readlink -f "/sys/class/block/$n") || exit 1
[ -e "$p" ] || exit 1
echo "\${p#/sys}"
`

/** A PATH for the host's grub tools: the usual one, plus a udevadm stand-in when there is none. */
export async function hostToolPath(): Promise<{ path: string; cleanup: () => Promise<void> }> {
  const path = searchPath().join(':')
  if ((await which('udevadm')) !== undefined) return { path, cleanup: async () => {} }
  const dir = await mkdtemp(join(tmpdir(), 'imgswarm-udevadm-'))
  await writeFile(join(dir, 'udevadm'), UDEVADM_SHIM)
  await chmod(join(dir, 'udevadm'), 0o755)
  return { path: `${dir}:${path}`, cleanup: () => rm(dir, { recursive: true, force: true }) }
}
