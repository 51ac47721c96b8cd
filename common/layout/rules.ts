// Field rules shared by the parser: labels, mount points, mkfs options.
// Each returns an error text (what is allowed) or undefined when the value is fine.
import { LABEL_MAX } from './constants.ts'
import type { FsType, TableType } from './types.ts'

const LABEL_RE = /^[A-Za-z0-9_-]+$/

export function labelProblem(label: string, fs: FsType, table: TableType): string | undefined {
  if (label === '') return 'must not be empty'
  if (!LABEL_RE.test(label)) return 'may contain only letters A-Z a-z, digits, "_" and "-"'
  // GPT names and file system labels are both set from it, so the tighter limit wins.
  const limits: [string, number][] = []
  if (fs !== 'none')
    limits.push([`${fs === 'ext4' || fs === 'xfs' ? 'an' : 'a'} ${fs} file system label`, LABEL_MAX[fs]])
  if (table === 'gpt') limits.push(['a GPT partition name here', LABEL_MAX.gpt])
  else limits.push(['a label', LABEL_MAX.none])
  for (const [what, max] of limits) {
    if (label.length > max) return `is ${label.length} characters; ${what} holds at most ${max}`
  }
  return undefined
}

/** The label a file system gets: FAT labels are upper case (mkfs.fat warns and DOS tools expect it). */
export function fsLabel(label: string, fs: FsType): string {
  return fs === 'vfat' ? label.toUpperCase() : label
}

// Plain path components only: fstab is whitespace-separated and mount(8)
// options are comma-separated, so anything more exotic is refused.
const COMPONENT_RE = /^[A-Za-z0-9._@+-]+$/

export function mountProblem(mount: string): string | undefined {
  if (!mount.startsWith('/')) return 'must be an absolute path such as "/" or "/boot/efi"'
  if (mount === '/') return undefined
  if (mount.endsWith('/')) return 'must not end with "/" (write it normalized, e.g. "/boot")'
  if (mount.length > 255) return 'must be at most 255 characters'
  for (const part of mount.slice(1).split('/')) {
    if (part === '') return 'must not contain "//" (write it normalized)'
    if (part === '.' || part === '..') return 'must not contain "." or ".." components'
    if (!COMPONENT_RE.test(part)) return 'may contain only letters, digits and . _ @ + - between "/"'
  }
  return undefined
}

/** true when `child` lies below `parent` (both normalized). */
export function isBelow(child: string, parent: string): boolean {
  return parent === '/' ? child !== '/' : child.startsWith(`${parent}/`)
}

export const MKFS_OPTIONS_MAX = 32
const OPTION_MAX = 256

export function mkfsOptionProblem(opt: string): string | undefined {
  if (opt === '') return 'must not be empty strings'
  if (opt.length > OPTION_MAX) return `must be at most ${OPTION_MAX} characters each`
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
  if (/[\u0000-\u001f\u007f]/.test(opt)) return 'must not contain control characters or newlines'
  // A path could make mkfs write to a device the layout never named
  // (mkfs.xfs -d name=, -l logdev=; mke2fs -J device=) or read host files.
  if (opt.includes('/')) return 'must not contain "/": options naming files or devices are refused'
  return undefined
}
