// Mounts an applied disk under a target directory (parents first) and
// unmounts it again (children first), and the fstab the installed system gets.
import { lstat, mkdir, realpath } from 'node:fs/promises'
import { join } from 'node:path'
import { errors } from '../../common/errors.ts'
import { mountOrder } from '../../common/layout/index.ts'
import type { AppliedDisk, AppliedPartition } from './apply.ts'
import { type CommandRunner, createCommandRunner } from './runner.ts'

export interface Mounted {
  /** Directories mounted, in mount order. */
  mounted: string[]
  /** Unmounts in reverse order; tries every one even after a failure, then throws the first. Idempotent. */
  unmountAll(): Promise<void>
}

export async function mountAll(
  applied: AppliedDisk,
  targetDir: string,
  opts: { signal?: AbortSignal; run?: CommandRunner } = {},
): Promise<Mounted> {
  const run = opts.run ?? createCommandRunner()
  const sig = opts.signal === undefined ? {} : { signal: opts.signal }
  const target = await realpath(targetDir)
  const mounted: string[] = []
  let done = false
  const unmountAll = async () => {
    if (done) return
    done = true
    let first: unknown
    for (const dir of [...mounted].reverse()) {
      // No signal here: an unmount cut short would leave the disk busy.
      await run.run('umount', [dir]).catch((e: unknown) => {
        first ??= e
      })
    }
    if (first !== undefined) throw first
  }
  const byNumber = new Map(applied.partitions.map((p) => [p.number, p]))
  try {
    for (const r of mountOrder(applied.resolved)) {
      const p = byNumber.get(r.number) as AppliedPartition
      const dir = await makeMountPoint(target, r.mount)
      await run.run('mount', ['-t', p.fs, p.device, dir], sig)
      mounted.push(dir)
    }
  } catch (e) {
    await unmountAll().catch(() => undefined)
    throw e
  }
  return { mounted, unmountAll }
}

/**
 * mkdir -p inside the target, refusing any component that is a symlink: a
 * file system mounted earlier (or an image) could otherwise point /boot at
 * /etc on the host and make us mount over it.
 */
async function makeMountPoint(target: string, mount: string): Promise<string> {
  let dir = target
  for (const part of mount.split('/').filter((s) => s !== '')) {
    dir = join(dir, part)
    const st = await lstat(dir).catch(() => undefined)
    if (st === undefined) await mkdir(dir, { mode: 0o755 })
    else if (st.isSymbolicLink())
      throw errors.disk(dir, `mount point ${mount} goes through a symlink; refusing to mount`)
    else if (!st.isDirectory()) throw errors.disk(dir, `mount point ${mount} exists and is not a directory`)
  }
  return dir
}

/** fstab(5) lines for the installed system, by UUID, in mount order, swap last. */
export function fstabLines(applied: AppliedDisk): string[] {
  const byNumber = new Map(applied.partitions.map((p) => [p.number, p]))
  const lines: string[] = []
  for (const r of mountOrder(applied.resolved)) {
    const p = byNumber.get(r.number) as AppliedPartition
    // vfat has no owners: umask=0077 keeps the ESP (and its boot secrets) root-only.
    const options = p.fs === 'vfat' ? 'umask=0077' : 'defaults'
    lines.push(`UUID=${uuidOf(p)} ${r.mount} ${p.fs} ${options} 0 ${r.mount === '/' ? 1 : 2}`)
  }
  for (const p of applied.partitions) {
    if (p.fs === 'swap') lines.push(`UUID=${uuidOf(p)} none swap sw 0 0`)
  }
  return lines
}

function uuidOf(p: AppliedPartition): string {
  if (p.uuid === undefined || p.uuid === '')
    throw errors.disk(p.device, 'has no file system UUID; apply the layout first')
  return p.uuid
}
