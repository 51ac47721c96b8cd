// What differs between two versions of an image tree: the entries a delta
// must carry (added or changed, with every name of a changed hard-linked
// inode), the paths to delete, and regular files whose bytes are the same
// but whose owner, mode or time changed (carried as metadata only).
import type { BigIntStats } from 'node:fs'
import { readFile, readlink } from 'node:fs/promises'
import type { MetaChange } from '../../common/delta.ts'
import { walkTree } from '../packer/walk.ts'
import { readTreeXattrs, type XattrMap } from '../packer/xattrs.ts'

export type { MetaChange } from '../../common/delta.ts'

export interface TreeDiff {
  /** Relative paths (latin1, no `./`, no trailing `/`) the delta carries whole. */
  carry: string[]
  added: number
  changed: number
  /** Paths gone in the new version, parents before children removed (deepest first). */
  deleted: string[]
  meta: MetaChange[]
  /** Regular-file bytes carried (each inode once). */
  bytes: number
}

interface Entry {
  type: string
  mode: number
  uid: number
  gid: number
  size: bigint
  mtimeNs: bigint
  rdev: bigint
  ino: string
  nlink: bigint
  abs: Buffer
}

function typeOf(st: BigIntStats): string {
  if (st.isFile()) return 'file'
  if (st.isDirectory()) return 'dir'
  if (st.isSymbolicLink()) return 'symlink'
  if (st.isCharacterDevice()) return 'char'
  if (st.isBlockDevice()) return 'block'
  if (st.isFIFO()) return 'fifo'
  return 'other'
}

function scan(root: string): Map<string, Entry> {
  const out = new Map<string, Entry>()
  for (const w of walkTree(root)) {
    const rel = w.rel.toString('latin1').replace(/^\.\//, '').replace(/\/$/, '')
    if (rel === '') continue
    out.set(rel, {
      type: typeOf(w.st),
      mode: Number(w.st.mode & 0o7777n),
      uid: Number(w.st.uid),
      gid: Number(w.st.gid),
      size: w.st.size,
      mtimeNs: w.st.mtimeNs,
      rdev: w.st.rdev,
      ino: `${w.st.dev}:${w.st.ino}`,
      nlink: w.st.nlink,
      abs: w.abs,
    })
  }
  return out
}

async function sameBytes(a: Buffer, b: Buffer): Promise<boolean> {
  const [x, y] = await Promise.all([readFile(a), readFile(b)])
  return x.equals(y)
}

async function sameLink(a: Buffer, b: Buffer): Promise<boolean> {
  const [x, y] = await Promise.all([readlink(a, { encoding: 'buffer' }), readlink(b, { encoding: 'buffer' })])
  return x.equals(y)
}

function xattrsOf(m: XattrMap, abs: Buffer): string {
  const a = m.get(abs.toString('latin1'))
  if (!a || a.size === 0) return ''
  return [...a.entries()]
    .sort(([x], [y]) => (x < y ? -1 : 1))
    .map(([k, v]) => `${k}=${v.toString('hex')}`)
    .join(',')
}

/** Compares two trees; `xattrs: false` skips extended attributes (no getfattr). */
export async function diffTrees(fromRoot: string, toRoot: string, o: { xattrs?: boolean } = {}): Promise<TreeDiff> {
  const from = scan(fromRoot)
  const to = scan(toRoot)
  const xf: XattrMap = o.xattrs === false ? new Map() : await readTreeXattrs(fromRoot)
  const xt: XattrMap = o.xattrs === false ? new Map() : await readTreeXattrs(toRoot)
  const carry = new Set<string>()
  const meta: MetaChange[] = []
  let added = 0
  let changed = 0
  for (const [rel, t] of to) {
    const f = from.get(rel)
    if (!f) {
      added++
      carry.add(rel)
      continue
    }
    let content = f.type === t.type && xattrsOf(xf, f.abs) === xattrsOf(xt, t.abs)
    if (content && t.type === 'file' && f.size !== t.size) content = false
    if (content && t.type === 'file' && f.mtimeNs !== t.mtimeNs) content = await sameBytes(f.abs, t.abs)
    if (content && t.type === 'symlink') content = await sameLink(f.abs, t.abs)
    if (content && (t.type === 'char' || t.type === 'block')) content = f.rdev === t.rdev
    const sameMeta = f.mode === t.mode && f.uid === t.uid && f.gid === t.gid && f.mtimeNs === t.mtimeNs
    if (!content || (t.type !== 'file' && !sameMeta)) {
      changed++
      carry.add(rel)
    } else if (!sameMeta) {
      meta.push({ path: rel, mode: t.mode, uid: t.uid, gid: t.gid, mtimeMs: Number(t.mtimeNs / 1_000_000n) })
    }
  }
  // A carried inode with other names: carry them all, so the links hold on the node.
  const byIno = new Map<string, string[]>()
  for (const [rel, t] of to) {
    if (t.type !== 'file' || t.nlink < 2n) continue
    const l = byIno.get(t.ino) ?? []
    l.push(rel)
    byIno.set(t.ino, l)
  }
  for (const names of byIno.values()) {
    if (names.some((n) => carry.has(n))) for (const n of names) carry.add(n)
  }
  const deleted = [...from.keys()].filter((rel) => !to.has(rel)).sort((a, b) => b.length - a.length || (a < b ? 1 : -1))
  const seen = new Set<string>()
  let bytes = 0
  for (const rel of carry) {
    const t = to.get(rel) as Entry
    if (t.type !== 'file' || seen.has(t.ino)) continue
    seen.add(t.ino)
    bytes += Number(t.size)
  }
  const metaPaths = new Set(meta.map((m) => m.path))
  return {
    carry: [...carry].sort(),
    added,
    changed,
    deleted,
    meta: meta.filter((m) => !carry.has(m.path) && metaPaths.has(m.path)),
    bytes,
  }
}

/** The absolute path of a relative (latin1) path under a root, as bytes. */
export function under(root: string, rel: string): Buffer {
  return Buffer.concat([Buffer.from(`${root.replace(/\/+$/, '')}/`), Buffer.from(rel, 'latin1')])
}
