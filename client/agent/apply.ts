// Applying an extracted, verified delta (docs/node-update.md) to a live root:
//  1. deletions, deepest first; a directory only when it is empty then
//     (local or excluded files keep it);
//  2. directories of the delta, created where missing;
//  3. every other entry renamed over its old path (atomic per file; across
//     file systems: cp -a to a temporary name beside it, then rename);
//  4. metadata-only changes; 5. directories' owner, mode and times, deepest first.
// Nothing is written through a symlink: every parent on the way must be a real
// directory. Excluded paths are never touched.
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { type BigIntStats, constants } from 'node:fs'
import { chmod, lchown, lstat, lutimes, mkdir, readdir, rename, rmdir, unlink } from 'node:fs/promises'
import { dirname } from 'node:path'
import { DELTA_DIR, type DeltaDoc } from '../../common/delta.ts'
import { errors } from '../../common/errors.ts'
import type { Excludes } from './exclude.ts'

export { DELTA_DIR, type DeltaDoc, type MetaChange } from '../../common/delta.ts'

export interface ApplyResult {
  written: number
  dirs: number
  deleted: number
  /** Directories to delete that still held files (local or excluded): kept. */
  kept: number
  meta: number
  excluded: number
}

const abs = (root: string, rel: string) => Buffer.from(`${root.replace(/\/+$/, '')}/${rel}`, 'latin1')
const show = (rel: string) => `/${Buffer.from(rel, 'latin1').toString('utf8')}`

async function lstatOr(p: Buffer): Promise<BigIntStats | undefined> {
  try {
    return await lstat(p, { bigint: true })
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR')
      return undefined
    throw e
  }
}

/** Every parent of rel inside root must be a real directory; missing ones are made (0755) when `make`. */
async function parentsOk(root: string, rel: string, make: boolean): Promise<boolean> {
  const parts = rel.split('/')
  let at = ''
  for (let i = 0; i < parts.length - 1; i++) {
    at = at === '' ? (parts[i] as string) : `${at}/${parts[i]}`
    const st = await lstatOr(abs(root, at))
    if (st === undefined) {
      if (!make) return false
      await mkdir(abs(root, at), { mode: 0o755 })
    } else if (!st.isDirectory()) {
      throw errors.updateApply(
        show(rel),
        `${show(at)} is ${st.isSymbolicLink() ? 'a symlink' : 'not a directory'} on this node; nothing is written through it`,
      )
    }
  }
  return true
}

/** The stage tree's entries, parents first, as latin1 relative paths. */
async function walk(stage: string): Promise<{ rel: string; st: BigIntStats }[]> {
  const out: { rel: string; st: BigIntStats }[] = []
  const go = async (rel: string) => {
    const names = (await readdir(abs(stage, rel), { encoding: 'buffer' })).sort(Buffer.compare)
    for (const n of names) {
      const child = rel === '' ? n.toString('latin1') : `${rel}/${n.toString('latin1')}`
      if (child === DELTA_DIR) continue
      const st = await lstat(abs(stage, child), { bigint: true })
      out.push({ rel: child, st })
      if (st.isDirectory()) await go(child)
    }
  }
  await go('')
  return out
}

function cpA(src: Buffer, dest: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const c = spawn(
      'cp',
      ['-a', '--preserve=all', '--no-target-directory', src.toString('latin1'), dest.toString('latin1')],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    )
    let err = ''
    c.stderr.setEncoding('utf8').on('data', (d: string) => {
      err += d
    })
    c.on('error', reject)
    c.on('close', (code) => (code === 0 ? resolve() : reject(new Error(err.trim() || `cp exit ${code}`))))
  })
}

async function place(src: Buffer, dest: Buffer, rel: string): Promise<void> {
  const old = await lstatOr(dest)
  if (old?.isDirectory()) {
    try {
      await rmdir(dest)
    } catch {
      throw errors.updateApply(show(rel), 'a directory on this node, not empty, is a file in the new version')
    }
  }
  try {
    await rename(src, dest)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EXDEV') throw errors.updateApply(show(rel), (e as Error).message)
    const tmp = Buffer.concat([
      Buffer.from(`${dirname(dest.toString('latin1'))}/.imgswarm-${randomBytes(6).toString('hex')}`, 'latin1'),
    ])
    try {
      await cpA(src, tmp)
      await rename(tmp, dest)
    } catch (e2) {
      await unlink(tmp).catch(() => undefined)
      throw errors.updateApply(show(rel), (e2 as Error).message)
    }
  }
}

async function setMeta(p: Buffer, m: { uid: number; gid: number; mode: number; mtimeMs: number; atimeMs?: number }) {
  await lchown(p, m.uid, m.gid)
  await chmod(p, m.mode & 0o7777)
  const t = m.mtimeMs / 1000
  await lutimes(p, (m.atimeMs ?? m.mtimeMs) / 1000, t)
}

export async function applyDelta(root: string, stage: string, doc: DeltaDoc, ex: Excludes): Promise<ApplyResult> {
  const r: ApplyResult = { written: 0, dirs: 0, deleted: 0, kept: 0, meta: 0, excluded: 0 }
  for (const rel of doc.deleted) {
    if (ex.matches(rel)) {
      r.excluded++
      continue
    }
    if (!(await parentsOk(root, rel, false))) continue
    const p = abs(root, rel)
    const st = await lstatOr(p)
    if (st === undefined) continue
    if (st.isDirectory()) {
      try {
        await rmdir(p)
        r.deleted++
      } catch {
        r.kept++
      }
    } else {
      await unlink(p)
      r.deleted++
    }
  }
  const entries = await walk(stage)
  const dirs: { rel: string; st: BigIntStats }[] = []
  for (const e of entries) {
    if (ex.matches(e.rel)) {
      r.excluded++
      continue
    }
    await parentsOk(root, e.rel, true)
    const p = abs(root, e.rel)
    if (e.st.isDirectory()) {
      const st = await lstatOr(p)
      if (st !== undefined && !st.isDirectory()) await unlink(p)
      if (st === undefined || !st.isDirectory()) await mkdir(p, { mode: 0o700 })
      dirs.push(e)
      r.dirs++
    } else {
      await place(abs(stage, e.rel), p, e.rel)
      r.written++
    }
  }
  for (const m of doc.meta) {
    if (ex.matches(m.path)) {
      r.excluded++
      continue
    }
    if (!(await parentsOk(root, m.path, false))) continue
    const p = abs(root, m.path)
    const st = await lstatOr(p)
    if (!st?.isFile()) continue
    await setMeta(p, m)
    r.meta++
  }
  for (const d of dirs.reverse()) {
    await setMeta(abs(root, d.rel), {
      uid: Number(d.st.uid),
      gid: Number(d.st.gid),
      mode: Number(d.st.mode & BigInt(0o7777 | constants.S_IFMT)) & 0o7777,
      mtimeMs: Number(d.st.mtimeNs / 1_000_000n),
      atimeMs: Number(d.st.atimeNs / 1_000_000n),
    })
  }
  return r
}
