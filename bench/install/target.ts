// Where each side installs: by default a new ext4 file system, made for that
// one run on a sparse file in the work directory (on the disk) and mounted
// through a loop device. A plain directory on the host file system would be
// unfair to whichever side runs next: after a tree of 20,000 files is
// deleted, ext4 spends seconds of CPU in recently_deleted() skipping the
// freed inodes on every create (seen here: the same tar -x took 2 s to 28 s).
// A node installs onto a freshly made file system anyway.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { errors } from '../../common/errors.ts'
import { run } from '../pack/proc.ts'

const SBIN_PATH = `${process.env.PATH ?? ''}:/usr/sbin:/sbin`
const sbinEnv = { ...process.env, PATH: SBIN_PATH }

export interface Target {
  /** An empty directory to install into. */
  dir: string
  /** Unmounts and removes it all; idempotent. */
  dispose(): Promise<void>
}

function paths(work: string) {
  return { image: join(work, 'target.ext4'), mnt: join(work, 'target-fs'), plain: join(work, 'target') }
}

function mounted(dir: string): boolean {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .some((l) => l.split(' ')[4] === dir)
}

/** The tools a fresh file system needs, or why they are not there. */
export async function checkFsTools(): Promise<void> {
  for (const [tool, pkg] of [
    ['mkfs.ext4', 'e2fsprogs'],
    ['mount', 'mount'],
  ] as const) {
    await run('sh', ['-c', 'command -v "$1"', 'sh', tool], { env: sbinEnv }).catch(() => {
      throw errors.tool(tool, 'not found (needed for a fresh target file system; or pass --plain-dir)', pkg)
    })
  }
}

/** Removes what an earlier (interrupted) run left: the mount, the image, the plain directory. */
export async function clearTargets(work: string): Promise<void> {
  const p = paths(work)
  if (existsSync(p.mnt) && mounted(p.mnt)) await run('umount', [p.mnt], { env: sbinEnv })
  for (const f of [p.image, p.mnt, p.plain]) rmSync(f, { recursive: true, force: true })
}

/**
 * A fresh empty target. `bytes`: what will be written (the file system gets
 * room for it plus metadata). Plain: a new directory in the work directory.
 */
export async function freshTarget(work: string, bytes: number, plain: boolean): Promise<Target> {
  await clearTargets(work)
  const p = paths(work)
  if (plain) {
    mkdirSync(p.plain)
    return { dir: p.plain, dispose: () => clearTargets(work) }
  }
  writeFileSync(p.image, '')
  const size = Math.ceil((bytes * 1.25 + 512e6) / 1048576) * 1048576
  await run('truncate', ['-s', String(size), p.image])
  // Inode tables and journal initialised now, not by ext4lazyinit during the timed part.
  const mkfs = ['-q', '-F', '-E', 'lazy_itable_init=0,lazy_journal_init=0,nodiscard', p.image]
  await run('mkfs.ext4', mkfs, { env: sbinEnv })
  mkdirSync(p.mnt)
  await run('mount', ['-o', 'loop', p.image, p.mnt], { env: sbinEnv })
  // Not the root of the file system: that holds lost+found, and --target-dir wants an empty directory.
  const dir = join(p.mnt, 'target')
  mkdirSync(dir)
  return { dir, dispose: () => clearTargets(work) }
}
