// `image diff A B`: what differs between two trees, entry by entry: added,
// removed, or changed in type, mode, owner, content, symlink target or
// device number. Files that share an inode (captures hard-linked with
// --link-dest) are equal without being read.
import { lstat, open, readdir, readlink } from 'node:fs/promises'
import { join } from 'node:path'

export interface DiffEntry {
  path: string
  change: 'added' | 'removed' | 'modified'
  /** For modified entries: what changed, e.g. "mode 644->600", "content", "owner 0:0->1000:1000". */
  details: string[]
}

type Stat = import('node:fs').Stats

/** What the comparison cost: entries looked at, files skipped as one inode, files read and their bytes. */
export interface DiffStats {
  entries: number
  sameInode: number
  filesRead: number
  bytesRead: number
}

const BLOCK = 1 << 20

function typeOf(st: Stat): string {
  if (st.isDirectory()) return 'dir'
  if (st.isSymbolicLink()) return 'symlink'
  if (st.isFile()) return 'file'
  if (st.isFIFO()) return 'fifo'
  if (st.isCharacterDevice()) return 'char'
  if (st.isBlockDevice()) return 'block'
  return 'socket'
}

async function list(root: string, rel = '', out = new Map<string, Stat>()): Promise<Map<string, Stat>> {
  const names = (await readdir(join(root, rel))).sort()
  for (const n of names) {
    const p = rel === '' ? n : `${rel}/${n}`
    const st = await lstat(join(root, p))
    out.set(p, st)
    if (st.isDirectory()) await list(root, p, out)
  }
  return out
}

/** Byte-for-byte comparison of two files of the same size, a block at a time. */
async function sameContent(a: string, b: string, stats: DiffStats): Promise<boolean> {
  stats.filesRead++
  const [fa, fb] = await Promise.all([open(a, 'r'), open(b, 'r')])
  try {
    const ba = Buffer.allocUnsafe(BLOCK)
    const bb = Buffer.allocUnsafe(BLOCK)
    for (let pos = 0; ; pos += BLOCK) {
      const [ra, rb] = await Promise.all([fa.read(ba, 0, BLOCK, pos), fb.read(bb, 0, BLOCK, pos)])
      if (ra.bytesRead !== rb.bytesRead) return false
      if (ra.bytesRead === 0) return true
      stats.bytesRead += ra.bytesRead
      if (!ba.subarray(0, ra.bytesRead).equals(bb.subarray(0, rb.bytesRead))) return false
    }
  } finally {
    await Promise.all([fa.close(), fb.close()])
  }
}

const octal = (m: number) => (m & 0o7777).toString(8)

export async function diffTrees(
  a: string,
  b: string,
  stats: DiffStats = { entries: 0, sameInode: 0, filesRead: 0, bytesRead: 0 },
): Promise<DiffEntry[]> {
  const [la, lb] = await Promise.all([list(a), list(b)])
  const out: DiffEntry[] = []
  const paths = [...new Set([...la.keys(), ...lb.keys()])].sort()
  stats.entries = paths.length
  for (const p of paths) {
    const sa = la.get(p)
    const sb = lb.get(p)
    if (sa === undefined) {
      out.push({ path: p, change: 'added', details: [] })
      continue
    }
    if (sb === undefined) {
      out.push({ path: p, change: 'removed', details: [] })
      continue
    }
    // One inode (a capture's --link-dest hard link): equal in every respect, nothing to read.
    if (sa.dev === sb.dev && sa.ino === sb.ino) {
      stats.sameInode++
      continue
    }
    const d: string[] = []
    const ta = typeOf(sa)
    const tb = typeOf(sb)
    if (ta !== tb) d.push(`type ${ta}->${tb}`)
    else {
      if (ta === 'file') {
        if (sa.size !== sb.size || !(await sameContent(join(a, p), join(b, p), stats))) d.push('content')
      }
      if (ta === 'symlink') {
        const [xa, xb] = await Promise.all([readlink(join(a, p)), readlink(join(b, p))])
        if (xa !== xb) d.push(`target ${xa}->${xb}`)
      }
      if ((ta === 'char' || ta === 'block') && sa.rdev !== sb.rdev) d.push('device number')
    }
    // After a change of type, a mode or owner difference says nothing more.
    if (ta === tb) {
      if (ta !== 'symlink' && (sa.mode & 0o7777) !== (sb.mode & 0o7777))
        d.push(`mode ${octal(sa.mode)}->${octal(sb.mode)}`)
      if (sa.uid !== sb.uid || sa.gid !== sb.gid) d.push(`owner ${sa.uid}:${sa.gid}->${sb.uid}:${sb.gid}`)
    }
    if (d.length > 0) out.push({ path: p, change: 'modified', details: d })
  }
  return out
}

// A name with a newline or other control character could fake lines of the listing: such names are quoted.
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding them is the point
const show = (p: string) => (/[\0-\x1f\x7f"]/.test(p) || p.startsWith(' ') ? JSON.stringify(p) : p)

/** One line per entry: "+ path", "- path", "M path (details)". */
export function formatDiff(entries: DiffEntry[]): string {
  return entries
    .map((e) =>
      e.change === 'added'
        ? `+ ${show(e.path)}`
        : e.change === 'removed'
          ? `- ${show(e.path)}`
          : `M ${show(e.path)} (${e.details.join(', ')})`,
    )
    .map((l) => `${l}\n`)
    .join('')
}
