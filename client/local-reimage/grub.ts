// The one-time GRUB entry for `node reimage --local --next-boot`, as
// SystemImager's si_updateclient --autoinstall did: the installer in
// /boot/imgswarm/, a menu entry in /boot/grub/custom.cfg (which Debian's
// grub.cfg sources through 41_custom, so no update-grub is needed) and
// grub-reboot, which sets next_entry in grubenv for the next boot only.
import { readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { errors } from '../../common/errors.ts'

export const ENTRY_ID = 'imgswarm-installer'
export const BEGIN = '### BEGIN imgswarm one-time installer entry (imgswarm node reimage --local --next-boot) ###'
export const END = '### END imgswarm one-time installer entry ###'

export interface GrubEntry {
  /** UUID of the file system that holds /boot. */
  bootUuid: string
  /** Paths of kernel and initramfs as GRUB sees them on that file system. */
  kernel: string
  initramfs: string
  cmdline: string
}

export function entryBlock(e: GrubEntry): string {
  return [
    BEGIN,
    `menuentry 'imgswarm installer (one-time reimage)' --id ${ENTRY_ID} {`,
    `\tsearch --no-floppy --fs-uuid --set=root ${e.bootUuid}`,
    `\tlinux ${e.kernel} ${e.cmdline}`,
    `\tinitrd ${e.initramfs}`,
    '}',
    END,
    '',
  ].join('\n')
}

/** custom.cfg with our block replaced (or added); anything else in it is kept. */
export function withEntry(existing: string, block: string): string {
  const start = existing.indexOf(BEGIN)
  const end = existing.indexOf(END)
  if (start >= 0 && end > start) {
    const after = existing.slice(end + END.length).replace(/^\n/, '')
    return existing.slice(0, start) + block + after
  }
  const sep = existing === '' || existing.endsWith('\n') ? '' : '\n'
  return existing + sep + block
}

/** grub.cfg must honour next_entry (grub-reboot) and source custom.cfg, as Debian's grub-mkconfig output does. */
export async function checkGrubCfg(grubDir: string): Promise<void> {
  const file = join(grubDir, 'grub.cfg')
  const text = await readFile(file, 'utf8').catch(() => undefined)
  if (text === undefined) {
    throw errors.localReimage(
      `${file} does not exist`,
      'this node does not boot with GRUB 2 from this disk: use --kexec',
    )
  }
  const missing = [
    !/next_entry/.test(text) && 'the next_entry handling that grub-reboot needs',
    !/custom\.cfg/.test(text) && 'the line that reads custom.cfg (/etc/grub.d/41_custom)',
  ].filter(Boolean)
  if (missing.length > 0) {
    throw errors.localReimage(
      `${file} lacks ${missing.join(' and ')}`,
      'regenerate it with update-grub (grub-mkconfig -o /boot/grub/grub.cfg), or use --kexec',
    )
  }
}

export async function writeEntry(grubDir: string, e: GrubEntry): Promise<string> {
  const file = join(grubDir, 'custom.cfg')
  const existing = await readFile(file, 'utf8').catch(() => '')
  const tmp = `${file}.imgswarm.tmp`
  await writeFile(tmp, withEntry(existing, entryBlock(e)), { mode: 0o644 })
  await rename(tmp, file)
  return file
}
