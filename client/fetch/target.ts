// Where fetched content goes. DIR must not exist, be empty, or hold only an
// interrupted fetch's work folder (then it resumes). Anything else is
// refused before a byte is written, unless --update: then the new version
// is built in a sibling folder (.DIR.imgswarm-fetch-HASH) and swapped in
// with two renames once it verified and seeding ended.
import { randomBytes } from 'node:crypto'
import { lstat, mkdir, readdir, realpath, rename, rm, stat } from 'node:fs/promises'
import { basename, dirname, join, resolve } from 'node:path'
import { errors } from '../../common/errors.ts'
import { WORK_DIR } from '../swarm/inplace/index.ts'

export interface FetchTarget {
  /** The directory the user named (absolute). */
  dir: string
  /** Where the archive is extracted: dir itself, or the staging sibling with --update. */
  root: string
  /** root holds an interrupted fetch of this same content. */
  resume: boolean
  /** True when the contents of an existing, non-empty dir are replaced at commit. */
  replacing: boolean
  /** With --update: swaps root into dir (the old contents are removed). A no-op otherwise. */
  commit(): Promise<void>
}

async function listing(dir: string): Promise<string[] | undefined> {
  try {
    return await readdir(dir)
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    if (code === 'ENOENT') return undefined
    if (code === 'ENOTDIR') throw errors.fetchDir(dir, 'exists and is not a directory')
    throw errors.fetchDir(dir, `cannot read it (${code ?? String(e)})`)
  }
}

async function usable(dir: string, names: string[] | undefined): Promise<{ ok: boolean; resume: boolean }> {
  if (names === undefined) {
    await mkdir(dir, { mode: 0o755 })
    return { ok: true, resume: false }
  }
  const others = names.filter((n) => n !== WORK_DIR)
  if (others.length > 0) return { ok: false, resume: false }
  if (names.includes(WORK_DIR)) {
    const st = await lstat(join(dir, WORK_DIR))
    if (!st.isDirectory()) return { ok: false, resume: false }
    return { ok: true, resume: true }
  }
  return { ok: true, resume: false }
}

export async function prepareTarget(to: string, o: { update: boolean; infoHash: string }): Promise<FetchTarget> {
  let dir = resolve(to)
  const parent = dirname(dir)
  const pst = await stat(parent).catch(() => undefined)
  if (!pst?.isDirectory()) throw errors.fetchDir(dir, `its parent ${parent} is not an existing directory`)
  // A symlink to a directory is followed once, here: the rest works on the real path.
  const lst = await lstat(dir).catch(() => undefined)
  if (lst?.isSymbolicLink()) dir = await realpath(dir).catch(() => dir)
  const names = await listing(dir)
  const here = await usable(dir, names)
  const noop = async () => {}
  if (here.ok) return { dir, root: dir, resume: here.resume, replacing: false, commit: noop }
  const first = (names ?? []).find((n) => n !== WORK_DIR) ?? WORK_DIR
  if (!o.update) throw errors.fetchDirNotEmpty(dir, JSON.stringify(first))

  const stage = join(dirname(dir), `.${basename(dir)}.imgswarm-fetch-${o.infoHash.slice(0, 16)}`)
  const sn = await listing(stage)
  let s = await usable(stage, sn).catch(() => ({ ok: false, resume: false }))
  if (!s.ok) {
    // Our own staging name, holding something else (a crash after the swap's first rename, or junk): start over.
    await rm(stage, { recursive: true, force: true })
    s = await usable(stage, undefined)
  }
  return {
    dir,
    root: stage,
    resume: s.resume,
    replacing: true,
    async commit() {
      const old = `${join(dirname(dir), `.${basename(dir)}.imgswarm-old-${randomBytes(4).toString('hex')}`)}`
      await rename(dir, old)
      try {
        await rename(stage, dir)
      } catch (e) {
        await rename(old, dir).catch(() => undefined)
        throw e
      }
      await rm(old, { recursive: true, force: true })
    },
  }
}
