// Compares an installed tree with its source: type, mode (setuid included),
// owner, size, content, symlink target, mtime, and which files are hard links
// of which. Paths in `skip` (relative, e.g. "etc/hostname") are left out.
import { createHash } from 'node:crypto'
import { lstat, readdir, readFile, readlink } from 'node:fs/promises'
import { join } from 'node:path'

export interface Node {
  kind: string
  mode: number
  uid: number
  gid: number
  size: number
  mtime: number
  content?: string
  link?: string
  ino: number
}

export async function describeTree(root: string, skip: Set<string> = new Set()): Promise<Map<string, Node>> {
  const out = new Map<string, Node>()
  const walk = async (rel: string) => {
    const names = (await readdir(join(root, rel))).sort()
    for (const n of names) {
      const r = rel === '' ? n : `${rel}/${n}`
      if (skip.has(r)) continue
      const p = join(root, r)
      const st = await lstat(p)
      const node: Node = {
        kind: st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : st.isFile() ? 'file' : 'other',
        mode: st.mode & 0o7777,
        uid: st.uid,
        gid: st.gid,
        size: st.isDirectory() ? 0 : st.size,
        mtime: Math.floor(st.mtimeMs / 1000),
        ino: st.ino,
      }
      if (st.isFile())
        node.content = createHash('sha256')
          .update(await readFile(p))
          .digest('hex')
      if (st.isSymbolicLink()) node.link = await readlink(p)
      out.set(r, node)
      if (st.isDirectory()) await walk(r)
    }
  }
  await walk('')
  return out
}

/** Differences as readable lines; hard-link groups compared by which paths share an inode. */
export function diffTrees(a: Map<string, Node>, b: Map<string, Node>): string[] {
  const diffs: string[] = []
  for (const [p, x] of a) {
    const y = b.get(p)
    if (!y) {
      diffs.push(`missing: ${p}`)
      continue
    }
    for (const k of ['kind', 'mode', 'uid', 'gid', 'size', 'mtime', 'content', 'link'] as const) {
      if (x[k] !== y[k]) diffs.push(`${p}: ${k} ${String(x[k])} != ${String(y[k])}`)
    }
  }
  for (const p of b.keys()) if (!a.has(p)) diffs.push(`extra: ${p}`)
  const groups = (m: Map<string, Node>) => {
    const by = new Map<number, string[]>()
    for (const [p, n] of m) if (n.kind === 'file') by.set(n.ino, [...(by.get(n.ino) ?? []), p])
    return new Set([...by.values()].filter((g) => g.length > 1).map((g) => g.join('|')))
  }
  const ga = groups(a)
  const gb = groups(b)
  for (const g of ga) if (!gb.has(g)) diffs.push(`hard links differ: ${g}`)
  return diffs
}
