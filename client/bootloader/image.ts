// GRUB from the image itself, run in a chroot of the installed tree.
import { chmod, mkdir, rmdir, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { AppliedDisk, CommandRunner } from '../disks/index.ts'
import { CHROOT_PATH, targetExecutable, withChroot } from '../identity/index.ts'
import { GRUB_INSTALL, GRUB_MKCONFIG, type Platform, UDEVADM_SHIM } from './tools.ts'

export interface ImageGrubRun {
  platforms: Platform[]
  /** The ESP's mount point inside the tree. */
  espMount: string | undefined
  efiArgs: string[]
  run: CommandRunner
  say: (msg: string) => void
  sig: { signal?: AbortSignal }
}

// Inside the chroot: a private tmpfs on /dev/disk (see devDisk).
const SHIM_DIR = '/dev/disk/.imgswarm-bin'

export async function imageGrub(target: string, applied: AppliedDisk, o: ImageGrubRun): Promise<void> {
  // A clean PATH through the image's env(1); udevadm stand-in first when the image has no udevadm.
  const env = (await targetExecutable(target, '/usr/bin/env')) !== undefined
  const shim = env && !(await imageHasUdevadm(target))
  const prefix = env ? ['/usr/bin/env', `PATH=${shim ? `${SHIM_DIR}:` : ''}${CHROOT_PATH}`] : []
  let madeDevDisk = false
  await withChroot(
    target,
    async (root) => {
      madeDevDisk = await devDisk(o.run, root, applied, shim, o.sig)
      for (const p of o.platforms) {
        const where = p === 'i386-pc' ? [applied.device] : [`--efi-directory=${o.espMount}`, ...o.efiArgs]
        await o.run.run('chroot', [root, ...prefix, GRUB_INSTALL, `--target=${p}`, ...where], o.sig)
        o.say(`grub-install --target=${p} done`)
      }
      await o.run.run('chroot', [root, ...prefix, GRUB_MKCONFIG, '-o', '/boot/grub/grub.cfg'], o.sig)
    },
    { runner: o.run, ...o.sig },
  )
  // Made in the /dev we bound (the source of the bind), so removed there; rmdir leaves a used one alone.
  if (madeDevDisk) await rmdir('/dev/disk').catch(() => undefined)
}

async function imageHasUdevadm(target: string): Promise<boolean> {
  for (const p of ['/usr/bin/udevadm', '/bin/udevadm', '/sbin/udevadm', '/usr/sbin/udevadm'])
    if ((await targetExecutable(target, p)) !== undefined) return true
  return false
}

/**
 * grub-mkconfig writes root=UUID= only when /dev/disk/by-uuid/UUID exists,
 * and without udev (the initramfs) nothing makes those links. So the chroot
 * gets its own: a tmpfs on its /dev/disk (our bind of /dev is a slave, so the
 * host's /dev never sees it; withChroot unmounts it), which also holds the
 * udevadm stand-in, so nothing is written into the image. True when /dev/disk
 * had to be made, in the /dev we share, so the caller removes it again.
 */
async function devDisk(
  run: CommandRunner,
  root: string,
  applied: AppliedDisk,
  shim: boolean,
  sig: { signal?: AbortSignal },
) {
  const dir = join(root, 'dev/disk')
  const made = await mkdir(dir).then(
    () => true,
    (e: NodeJS.ErrnoException) => {
      if (e.code === 'EEXIST') return false
      throw e
    },
  )
  await run.run('mount', ['-t', 'tmpfs', '-o', 'mode=0755,size=1m', 'imgswarm-dev-disk', dir], sig)
  await mkdir(join(dir, 'by-uuid'))
  for (const p of applied.partitions) {
    if (p.uuid !== undefined && p.uuid !== '' && !p.uuid.includes('/'))
      await symlink(p.device, join(dir, 'by-uuid', p.uuid))
  }
  if (shim) {
    const bin = join(root, SHIM_DIR)
    await mkdir(bin)
    await writeFile(join(bin, 'udevadm'), UDEVADM_SHIM)
    await chmod(join(bin, 'udevadm'), 0o755)
  }
  return made
}
