// Where the image goes: a disk (partitioned, formatted and mounted here) or
// a directory given by the operator. Either way the result is one target
// directory, plus what the later steps need to know about the disk.
import { mkdir, readdir } from 'node:fs/promises'
import { errors } from '../../common/errors.ts'
import { type InstallPlan, planLayout } from '../../common/plan.ts'
import type { ClientConfig } from '../config/index.ts'
import { type AppliedDisk, applyLayout, fstabLines, type Mounted, mountAll } from '../disks/index.ts'
import type { CommandRunner } from '../disks/runner.ts'
import { WORK_DIR } from '../swarm/inplace/index.ts'

/** Our work folder at the top of the target (the in-place store's); removed before the install ends. */
export { WORK_DIR }

export interface Destination {
  target: string
  applied: AppliedDisk | undefined
  /** fstab lines for the installed system; null with --target-dir (the operator's tree, no disk). */
  fstab: string[] | null
  /** The target holds an interrupted install of this same image: resume it. */
  resume: boolean
  /** Mount points of other file systems under the target, relative ("boot"): they exist already. */
  mountPoints: string[]
  release(): Promise<void>
}

export interface DestinationInit {
  mountDir: string
  signal?: AbortSignal | undefined
  run?: CommandRunner | undefined
  say: (line: string) => void
}

async function entries(dir: string): Promise<string[] | undefined> {
  try {
    return await readdir(dir)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw e
  }
}

/** Directory mode: the directory must be empty (or hold only our work folder: a resume). */
async function directory(dir: string): Promise<Destination> {
  const names = await entries(dir)
  if (names === undefined) await mkdir(dir, { recursive: true, mode: 0o755 })
  const others = (names ?? []).filter((n) => n !== WORK_DIR && n !== 'lost+found')
  const resume = (names ?? []).includes(WORK_DIR)
  if (others.length > 0 && !resume) {
    throw errors.usage(
      `--target-dir ${dir} is not empty (${others.length} entries, e.g. ${JSON.stringify(others[0])})`,
      'imgswarm installs an image only into an empty directory: remove its contents or pick another one',
    )
  }
  return { target: dir, applied: undefined, fstab: null, resume, mountPoints: [], release: async () => {} }
}

export async function prepareDestination(
  cfg: ClientConfig,
  plan: InstallPlan,
  init: DestinationInit,
): Promise<Destination> {
  if (cfg.targetDir !== undefined) return directory(cfg.targetDir)
  if (cfg.disk === undefined) {
    throw errors.usage(
      'no install destination: give --disk DEV or --target-dir DIR',
      'on a node, boot with imgswarm.disk=/dev/sda (or whichever disk the plan is for)',
    )
  }
  if (plan.disk === null) {
    throw errors.usage(
      `the install plan has no disk layout, so ${cfg.disk} cannot be partitioned`,
      'give the node a layout in the server\'s plans file (layout = "FILE"), or install with --target-dir',
    )
  }
  const sig = init.signal === undefined ? {} : { signal: init.signal }
  const run = init.run === undefined ? {} : { run: init.run }
  // Every check (exists, big enough, not in use, not what we run from) happens before the first write.
  const applied = await applyLayout(cfg.disk, planLayout(plan.disk), { ...sig, ...run, onStep: init.say })
  await mkdir(init.mountDir, { recursive: true, mode: 0o700 })
  const mounted: Mounted = await mountAll(applied, init.mountDir, { ...sig, ...run })
  init.say(`mounted ${mounted.mounted.length} file system(s) under ${init.mountDir}`)
  return {
    target: init.mountDir,
    applied,
    fstab: fstabLines(applied),
    resume: false,
    mountPoints: applied.partitions.flatMap((p) => (p.mount && p.mount !== '/' ? [p.mount.slice(1)] : [])),
    release: () => mounted.unmountAll(),
  }
}
