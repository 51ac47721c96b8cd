// Which of the golden client's file systems go into the image, and what rsync
// must leave out. Pure: it works on the text of /proc/self/mountinfo and
// /proc/swaps as read on the client (docs/capture.md#what-is-copied).

/** File systems that hold a system's files. Everything else (proc, sysfs, tmpfs, overlay, nfs, cifs, fuse.*, …) is left out. */
export const REAL_FS = ['ext2', 'ext3', 'ext4', 'xfs', 'btrfs', 'vfat'] as const

/** Always left out, anchored at the capture root (the directories themselves are kept, empty). */
export const DEFAULT_EXCLUDES = [
  '/proc/*',
  '/sys/*',
  '/dev/*',
  '/run/*',
  '/tmp/*',
  '/var/tmp/*',
  '/lost+found',
  '/swapfile',
  '/swap.img',
  // The golden client's identity: every node makes its own (the installer empties machine-id and makes fresh host keys).
  '/etc/machine-id',
  '/etc/ssh/ssh_host_*_key',
  '/etc/ssh/ssh_host_*_key.pub',
] as const

/** Directories below which no mount is ever captured (a USB stick under /run/media, a real fs on /tmp). */
const NEVER_BELOW = ['/proc', '/sys', '/dev', '/run', '/tmp', '/var/tmp']

export interface MountEntry {
  majMin: string
  /** Path inside the file system that is mounted (not "/" for bind mounts and btrfs subvolumes). */
  fsRoot: string
  mountPoint: string
  fsType: string
  source: string
}

export interface MountSkip {
  mountPoint: string
  fsType: string
  why: string
}

export interface CapturePlan {
  /** Paths relative to the root ("" for the root itself, then "boot", "boot/efi", …), parents first. */
  sources: string[]
  /** The file systems captured, for the report. */
  captured: MountEntry[]
  skipped: MountSkip[]
  /** rsync exclude patterns, anchored at the root: defaults, user's, mounts left out, swap files. */
  excludes: string[]
  /** The mount that holds the root (for the disk layout). */
  rootMount: MountEntry | undefined
}

/** Undoes the octal escapes of mountinfo (\040 space, \011 tab, \012 newline, \134 backslash). */
function unescapeOctal(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)))
}

export function parseMountinfo(text: string): MountEntry[] {
  const out: MountEntry[] = []
  for (const line of text.split('\n')) {
    const f = line.trim().split(' ')
    const dash = f.indexOf('-')
    if (f.length < 10 || dash < 6 || dash + 2 >= f.length) continue
    out.push({
      majMin: f[2] as string,
      fsRoot: unescapeOctal(f[3] as string),
      mountPoint: unescapeOctal(f[4] as string),
      fsType: f[dash + 1] as string,
      source: unescapeOctal(f[dash + 2] as string),
    })
  }
  return out
}

/** Swap files (not partitions) in use, from /proc/swaps. */
export function swapFiles(text: string): string[] {
  return text
    .split('\n')
    .slice(1)
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f[1] === 'file' && f[0]?.startsWith('/'))
    .map((f) => unescapeOctal(f[0] as string))
}

const below = (p: string, dir: string) => dir === '/' || p === dir || p.startsWith(`${dir}/`)
const rel = (p: string, root: string) => (p === root ? '' : root === '/' ? p.slice(1) : p.slice(root.length + 1))
/** rsync patterns: escape the wildcard characters of a literal path. */
const literal = (p: string) => p.replace(/[*?[\\]/g, '\\$&')

/** Plain absolute directories among the user's excludes (`/srv/data`, `/srv/data/*`, `/srv/data/***`). */
function excludedDirs(user: string[]): string[] {
  return user.filter((p) => /^\/[^*?[]*$/.test(p.replace(/\/\*{1,3}$/, ''))).map((p) => p.replace(/\/\*{1,3}$/, ''))
}

export function planCapture(root: string, mountinfo: string, swaps: string, userExcludes: string[]): CapturePlan {
  const all = parseMountinfo(mountinfo)
  // A later mount on the same point hides the earlier one: the last one is what is seen.
  const visible = new Map<string, MountEntry>()
  for (const m of all) {
    visible.delete(m.mountPoint)
    visible.set(m.mountPoint, m)
  }
  const mounts = [...visible.values()]
  const rootMount = mounts
    .filter((m) => below(root, m.mountPoint))
    .sort((a, b) => b.mountPoint.length - a.mountPoint.length)[0]
  const inside = mounts
    .filter((m) => m.mountPoint !== root && below(m.mountPoint, root))
    .sort((a, b) => a.mountPoint.length - b.mountPoint.length)
  const noGo = [...NEVER_BELOW, ...excludedDirs(userExcludes)].map((d) => (root === '/' ? d : `${root}${d}`))

  const captured: MountEntry[] = rootMount ? [rootMount] : []
  const sources = ['']
  const skipped: MountSkip[] = []
  const excludes: string[] = [...DEFAULT_EXCLUDES, ...userExcludes]
  const skippedPoints: string[] = []
  for (const m of inside) {
    let why: string | undefined
    if (skippedPoints.some((p) => below(m.mountPoint, p))) why = 'below a mount that is left out'
    else if (noGo.some((d) => below(m.mountPoint, d))) why = 'in an excluded directory'
    else if (!(REAL_FS as readonly string[]).includes(m.fsType)) why = `not a disk file system (${m.fsType})`
    else if (captured.some((c) => c.majMin === m.majMin && below(m.fsRoot, c.fsRoot))) {
      why = 'a bind mount of files already captured'
    }
    if (why === undefined) {
      captured.push(m)
      sources.push(rel(m.mountPoint, root))
      excludes.push(`/${literal(rel(m.mountPoint, root))}/lost+found`)
      continue
    }
    skipped.push({ mountPoint: m.mountPoint, fsType: m.fsType, why })
    skippedPoints.push(m.mountPoint)
    // rsync -x stops at other devices, but a bind mount of the same device it would walk into.
    excludes.push(`/${literal(rel(m.mountPoint, root))}/*`)
  }
  for (const f of swapFiles(swaps)) if (f !== root && below(f, root)) excludes.push(`/${literal(rel(f, root))}`)
  return { sources, captured, skipped, excludes: [...new Set(excludes)], rootMount }
}
