// Deterministic tree walk: depth first, each directory's entries sorted by
// their raw name bytes, a directory before its contents. Names stay Buffers
// so that non-UTF-8 file names survive. Only the current path's directory
// listings are held in memory.
import { type BigIntStats, lstatSync, readdirSync } from 'node:fs'

export interface WalkItem {
  /** Archive path: `./` for the root, `./etc/`, `./etc/passwd`. */
  rel: Buffer
  abs: Buffer
  st: BigIntStats
}

const SLASH = Buffer.from('/')

export function* walkTree(root: string): Generator<WalkItem> {
  const rootAbs = Buffer.from(root.endsWith('/') ? root.slice(0, -1) : root)
  const st = lstatSync(rootAbs, { bigint: true })
  yield { rel: Buffer.from('./'), abs: rootAbs, st }
  if (!st.isDirectory()) return
  yield* walkDir(rootAbs, Buffer.from('./'))
}

function* walkDir(abs: Buffer, rel: Buffer): Generator<WalkItem> {
  const names = readdirSync(abs, { encoding: 'buffer' }).sort(Buffer.compare)
  for (const name of names) {
    const childAbs = Buffer.concat([abs, SLASH, name])
    const st = lstatSync(childAbs, { bigint: true })
    const isDir = st.isDirectory()
    const childRel = isDir ? Buffer.concat([rel, name, SLASH]) : Buffer.concat([rel, name])
    yield { rel: childRel, abs: childAbs, st }
    if (isDir) yield* walkDir(childAbs, childRel)
  }
}

/** Linux dev_t encoding (glibc sysmacros.h gnu_dev_major/minor). */
export function devNumbers(rdev: bigint): { major: number; minor: number } {
  const major = ((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn)
  const minor = (rdev & 0xffn) | ((rdev >> 12n) & ~0xffn)
  return { major: Number(major), minor: Number(minor) }
}

export interface TreeTotals {
  entries: number
  files: number
  /** Bytes of regular-file content (each hard-linked inode once). */
  bytes: number
}

export function treeTotals(root: string): TreeTotals {
  const seen = new Set<string>()
  const t: TreeTotals = { entries: 0, files: 0, bytes: 0 }
  for (const { st } of walkTree(root)) {
    t.entries++
    if (!st.isFile()) continue
    t.files++
    if (st.nlink > 1n) {
      const key = `${st.dev}:${st.ino}`
      if (seen.has(key)) continue
      seen.add(key)
    }
    t.bytes += Number(st.size)
  }
  return t
}
