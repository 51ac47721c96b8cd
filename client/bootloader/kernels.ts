// The kernels an image carries in /boot (Debian names: vmlinuz-VERSION with
// initrd.img-VERSION), newest first, for grub.cfg and for kexec.
import { isFileInTarget, listTargetDir } from '../identity/index.ts'

export interface Kernel {
  version: string
  /** Paths as the installed system names them: /boot/vmlinuz-VERSION. */
  kernel: string
  initrd: string | undefined
}

/** Kernels with a regular file (or a link to one, within the tree) as image, newest first. */
export async function findKernels(target: string): Promise<Kernel[]> {
  const names = await listTargetDir(target, '/boot')
  const found: Kernel[] = []
  for (const name of names) {
    if (!name.startsWith('vmlinuz-') || name.length === 'vmlinuz-'.length) continue
    const version = name.slice('vmlinuz-'.length)
    if (!(await isFileInTarget(target, `/boot/${name}`))) continue
    const initrd = `/boot/initrd.img-${version}`
    found.push({
      version,
      kernel: `/boot/${name}`,
      initrd: (await isFileInTarget(target, initrd)) ? initrd : undefined,
    })
  }
  return found.sort((a, b) => compareVersions(b.version, a.version))
}

/**
 * Debian's order (dpkg --compare-versions, as linux-version sort uses it):
 * runs of digits compare as numbers, other runs character by character with
 * `~` before everything, even the end, and letters before other symbols.
 */
export function compareVersions(a: string, b: string): number {
  let i = 0
  let j = 0
  while (i < a.length || j < b.length) {
    // Non-digit run
    while ((i < a.length && !isDigit(a[i])) || (j < b.length && !isDigit(b[j]))) {
      const d = order(a[i]) - order(b[j])
      if (d !== 0) return Math.sign(d)
      i++
      j++
    }
    let x = ''
    let y = ''
    while (i < a.length && isDigit(a[i])) x += a[i++]
    while (j < b.length && isDigit(b[j])) y += b[j++]
    const d = Number(x || '0') - Number(y || '0')
    if (d !== 0) return Math.sign(d)
  }
  return 0
}

function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= '0' && c <= '9'
}

function order(c: string | undefined): number {
  if (c === undefined || isDigit(c)) return 0
  if (c === '~') return -1
  if (/[A-Za-z]/.test(c)) return c.charCodeAt(0)
  return c.charCodeAt(0) + 256
}
