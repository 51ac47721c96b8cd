// `image diff A B`: what differs between two trees, entry by entry: added,
// removed, or changed in type, mode, owner, content, symlink target or
// device number. Files that share an inode (captures hard-linked with
// --link-dest) are equal without being read.
import { closeSync, lstatSync, openSync, readdirSync, readSync } from 'node:fs'
import { open, readlink } from 'node:fs/promises'

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

const BLOCK = 256 * 1024

function typeOf(st: Stat): string {
  if (st.isDirectory()) return 'dir'
  if (st.isSymbolicLink()) return 'symlink'
  if (st.isFile()) return 'file'
  if (st.isFIFO()) return 'fifo'
  if (st.isCharacterDevice()) return 'char'
  if (st.isBlockDevice()) return 'block'
  return 'socket'
}

// Names are read as latin1, one char per byte, and turned back into the same bytes for every
// fs call: a name that is not valid UTF-8 (a hostile or just old image) is still found and compared.
const fsPath = (root: string, rel: string) =>
  rel === '' ? Buffer.from(root) : Buffer.concat([Buffer.from(`${root}/`), Buffer.from(rel, 'latin1')])

/**
 * Every entry under root, keyed by its latin1 path. Synchronous on purpose: with the tree in the
 * page cache a sync lstat costs a few microseconds and a thread-pool round trip several times
 * that (bench/diff/run.ts); diff is a command-line job with nothing else to serve meanwhile.
 */
function list(root: string, rel = '', out = new Map<string, Stat>()): Map<string, Stat> {
  for (const n of readdirSync(fsPath(root, rel), { encoding: 'latin1' })) {
    const p = rel === '' ? n : `${rel}/${n}`
    const st = lstatSync(fsPath(root, p))
    out.set(p, st)
    if (st.isDirectory()) list(root, p, out)
  }
  return out
}

/** The same for a small file (one block): one read each, no thread-pool round trips. */
function sameSmall(a: Buffer, b: Buffer, bufs: [Buffer, Buffer], stats: DiffStats): boolean {
  stats.filesRead++
  const [ba, bb] = bufs
  const read = (p: Buffer, buf: Buffer) => {
    const fd = openSync(p, 'r')
    try {
      return readSync(fd, buf, 0, BLOCK, 0)
    } finally {
      closeSync(fd)
    }
  }
  const na = read(a, ba)
  const nb = read(b, bb)
  stats.bytesRead += na
  return na === nb && ba.subarray(0, na).equals(bb.subarray(0, nb))
}

/** Byte-for-byte comparison of two files of the same size, a block at a time, with the caller's buffers. */
async function sameContent(
  a: string | Buffer,
  b: string | Buffer,
  bufs: [Buffer, Buffer],
  stats: DiffStats,
): Promise<boolean> {
  stats.filesRead++
  const [ba, bb] = bufs
  const [fa, fb] = await Promise.all([open(a, 'r'), open(b, 'r')])
  try {
    for (let pos = 0; ; pos += BLOCK) {
      const [ra, rb] = await Promise.all([fa.read(ba, 0, BLOCK, pos), fb.read(bb, 0, BLOCK, pos)])
      if (ra.bytesRead !== rb.bytesRead) return false
      if (ra.bytesRead === 0) return true
      stats.bytesRead += ra.bytesRead
      if (!ba.subarray(0, ra.bytesRead).equals(bb.subarray(0, rb.bytesRead))) return false
      if (ra.bytesRead < BLOCK) return true
    }
  } finally {
    await Promise.all([fa.close(), fb.close()])
  }
}

const octal = (m: number) => (m & 0o7777).toString(8)

/** What the second look (reading files and links) found for one entry present in both trees. */
interface Pair {
  path: string
  sa: Stat
  sb: Stat
  type: string
  contentDiffers?: boolean
  targets?: [string, string]
}

/** Files compared at once: libuv has 4 threads; a few more requests keep them busy. */
const PARALLEL = 8

export async function diffTrees(
  a: string,
  b: string,
  stats: DiffStats = { entries: 0, sameInode: 0, filesRead: 0, bytesRead: 0 },
): Promise<DiffEntry[]> {
  const la = list(a)
  const lb = list(b)
  const paths = [...new Set([...la.keys(), ...lb.keys()])].sort()
  stats.entries = paths.length
  const out: (DiffEntry | Pair)[] = []
  const reads: Pair[] = []
  for (const p of paths) {
    const sa = la.get(p)
    const sb = lb.get(p)
    if (sa === undefined || sb === undefined) {
      out.push({ path: p, change: sa === undefined ? 'added' : 'removed', details: [] })
      continue
    }
    // One inode (a capture's --link-dest hard link): equal in every respect, nothing to read.
    if (sa.dev === sb.dev && sa.ino === sb.ino) {
      stats.sameInode++
      continue
    }
    const ta = typeOf(sa)
    const tb = typeOf(sb)
    // After a change of type, a mode or owner difference says nothing more.
    if (ta !== tb) {
      out.push({ path: p, change: 'modified', details: [`type ${ta}->${tb}`] })
      continue
    }
    const pair: Pair = { path: p, sa, sb, type: ta }
    if (ta === 'file') {
      if (sa.size !== sb.size) pair.contentDiffers = true
      else if (sa.size > 0) reads.push(pair)
    } else if (ta === 'symlink') reads.push(pair)
    out.push(pair)
  }

  let next = 0
  const worker = async () => {
    const bufs: [Buffer, Buffer] = [Buffer.allocUnsafe(BLOCK), Buffer.allocUnsafe(BLOCK)]
    while (next < reads.length) {
      const r = reads[next++] as Pair
      const [pa, pb] = [fsPath(a, r.path), fsPath(b, r.path)]
      if (r.type !== 'file') r.targets = await Promise.all([readlink(pa, 'latin1'), readlink(pb, 'latin1')])
      else if (r.sa.size <= BLOCK) r.contentDiffers = !sameSmall(pa, pb, bufs, stats)
      else r.contentDiffers = !(await sameContent(pa, pb, bufs, stats))
    }
  }
  await Promise.all(Array.from({ length: Math.min(PARALLEL, reads.length) }, worker))

  const entries: DiffEntry[] = []
  for (const e of out) {
    if ('change' in e) {
      entries.push({ ...e, path: display(e.path) })
      continue
    }
    const { sa, sb } = e
    const d: string[] = []
    if (e.contentDiffers === true) d.push('content')
    if (e.targets !== undefined && e.targets[0] !== e.targets[1])
      d.push(`target ${display(e.targets[0])}->${display(e.targets[1])}`)
    if ((e.type === 'char' || e.type === 'block') && sa.rdev !== sb.rdev) d.push('device number')
    if (e.type !== 'symlink' && (sa.mode & 0o7777) !== (sb.mode & 0o7777))
      d.push(`mode ${octal(sa.mode)}->${octal(sb.mode)}`)
    if (sa.uid !== sb.uid || sa.gid !== sb.gid) d.push(`owner ${sa.uid}:${sa.gid}->${sb.uid}:${sb.gid}`)
    if (d.length > 0) entries.push({ path: display(e.path), change: 'modified', details: d })
  }
  return entries
}

/** A latin1 (byte) name as text: its UTF-8 reading, U+FFFD where it is not UTF-8. */
const display = (latin1: string) => Buffer.from(latin1, 'latin1').toString('utf8')

// A name with a newline or other control character could fake lines of the listing: such names are quoted.
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding them is the point
const show = (p: string) => (/[\0-\x1f\x7f"\ufffd]/.test(p) || p.startsWith(' ') ? JSON.stringify(p) : p)

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
