// Checks made before a single byte is written: a wrong disk here means
// someone else's data is gone, so every doubt is a refusal.
import { readdir, readFile, realpath, stat } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { errors } from '../../common/errors.ts'
import { type Layout, type ResolvedLayout, resolveLayout } from '../../common/layout/index.ts'
import type { CommandRunner } from './runner.ts'

export interface DiskInfo {
  /** The device path after resolving symlinks (/dev/disk/by-id/... -> /dev/sda). */
  device: string
  /** Kernel name: sda, nvme0n1, loop3. */
  name: string
  /** "major:minor". */
  devno: string
  bytes: number
  partitions: { name: string; devno: string }[]
}

const SYS_BLOCK = '/sys/class/block'

/** Facts about a whole-disk block device, read from sysfs. */
export async function inspectDisk(dev: string): Promise<DiskInfo> {
  let device: string
  try {
    device = await realpath(dev)
  } catch {
    throw errors.disk(dev, 'does not exist', 'give the path of a whole disk, such as /dev/sda or /dev/nvme0n1')
  }
  const st = await stat(device)
  if (!st.isBlockDevice()) {
    throw errors.disk(dev, 'is not a block device', 'give the path of a whole disk, such as /dev/sda or /dev/nvme0n1')
  }
  const name = basename(device)
  const sys = join(SYS_BLOCK, name)
  const devno = await readSys(join(sys, 'dev'), dev)
  if (devno !== `${major(st.rdev)}:${minor(st.rdev)}`) {
    throw errors.disk(dev, `its device number does not match ${sys}; refusing to guess which disk it is`)
  }
  if (await exists(join(sys, 'partition'))) {
    throw errors.disk(dev, 'is a partition, not a whole disk', `give the disk it belongs to`)
  }
  const logical = await readSys(join(sys, 'queue', 'logical_block_size'), dev).catch(() => '512')
  if (logical !== '512') {
    throw errors.disk(dev, `has ${logical}-byte logical sectors; only 512-byte sectors are supported`)
  }
  const bytes = Number(await readSys(join(sys, 'size'), dev)) * 512
  const partitions: DiskInfo['partitions'] = []
  for (const entry of await readdir(sys)) {
    if (entry.startsWith(name) && (await exists(join(sys, entry, 'partition')))) {
      partitions.push({ name: entry, devno: await readSys(join(sys, entry, 'dev'), dev) })
    }
  }
  return { device, name, devno, bytes, partitions }
}

/**
 * Every check applyLayout makes before writing. Returns the layout resolved
 * for this disk. Order matters only for the message a person sees first.
 */
export async function checkDisk(
  dev: string,
  layout: Layout,
  opts: { run: CommandRunner; signal?: AbortSignal },
): Promise<{ disk: DiskInfo; resolved: ResolvedLayout }> {
  const disk = await inspectDisk(dev)
  const resolved = resolveLayout(layout, disk.bytes, dev)
  await assertNotRunningFrom(disk, opts)
  await assertUnused(disk)
  return { disk, resolved }
}

/** Refuses the disk behind "/" or behind the running node binary, whatever stacks (LVM, RAID, crypt) sit between. */
export async function assertNotRunningFrom(
  disk: DiskInfo,
  opts: { run: CommandRunner; signal?: AbortSignal },
): Promise<void> {
  for (const target of ['/', dirname(process.execPath)]) {
    opts.signal?.throwIfAborted()
    const found = await opts.run.run('findmnt', ['-n', '-o', 'SOURCE', '--target', target], withSignal(opts.signal))
    // btrfs reports "/dev/sda2[/@root]"; network and RAM roots have no /dev source and no disk to protect.
    const source = found.stdout.trim().replace(/\[.*\]$/, '')
    if (await isOnDisk(target, disk.devno)) {
      throw errors.diskInUse(disk.device, `the running system is on it (${target} is on ${source})`)
    }
    // "/dev/root" and the like name no node: the sysfs check above covered them.
    if (!source.startsWith('/dev/') || !(await exists(source))) continue
    // -s lists the device and every device beneath it, so a root on LVM on a partition still leads here.
    const below = await opts.run.run('lsblk', ['-n', '-s', '-r', '-o', 'MAJ:MIN', source], withSignal(opts.signal))
    const devnos = below.stdout.split('\n').map((l) => l.trim())
    if (devnos.includes(disk.devno)) {
      throw errors.diskInUse(disk.device, `the running system is on it (${target} is on ${source})`)
    }
  }
}

/** Whether the file system holding `path` sits directly on `devno` or on one of its partitions (sysfs, no tools). */
async function isOnDisk(path: string, devno: string): Promise<boolean> {
  const st = await stat(path)
  const own = `${major(st.dev)}:${minor(st.dev)}`
  const sys = await realpath(`/sys/dev/block/${own}`).catch(() => undefined)
  if (sys === undefined) return false // tmpfs, overlay, nfs: no block device behind it
  const parent = (await exists(join(sys, 'partition'))) ? await readFile(join(dirname(sys), 'dev'), 'utf8') : ''
  return own === devno || parent.trim() === devno
}

/** Refuses a disk with a mounted partition, active swap, or a holder (device mapper, md RAID). */
export async function assertUnused(disk: DiskInfo): Promise<void> {
  const ours = new Map<string, string>([
    [disk.devno, disk.name],
    ...disk.partitions.map((p) => [p.devno, p.name] as [string, string]),
  ])
  const mountinfo = await readFile('/proc/self/mountinfo', 'utf8')
  for (const line of mountinfo.split('\n')) {
    // Field 3 is major:minor, field 5 the mount point (proc(5)).
    const f = line.split(' ')
    const hit = f[2] === undefined ? undefined : ours.get(f[2])
    if (hit !== undefined)
      throw errors.diskInUse(disk.device, `/dev/${hit} is mounted on ${unescapeOctal(f[4] ?? '?')}`)
  }
  const swaps = await readFile('/proc/swaps', 'utf8').catch(() => '')
  for (const line of swaps.split('\n').slice(1)) {
    const file = line.split(/\s+/)[0]
    if (file === undefined || file === '') continue
    const st = await stat(unescapeOctal(file)).catch(() => undefined)
    if (st?.isBlockDevice() && ours.has(`${major(st.rdev)}:${minor(st.rdev)}`)) {
      throw errors.diskInUse(disk.device, `${file} is active swap`)
    }
  }
  for (const name of [disk.name, ...disk.partitions.map((p) => p.name)]) {
    const dir = name === disk.name ? join(SYS_BLOCK, name, 'holders') : join(SYS_BLOCK, disk.name, name, 'holders')
    const holders = await readdir(dir).catch(() => [])
    if (holders.length > 0) throw errors.diskInUse(disk.device, `/dev/${name} is held by ${holders.join(', ')}`)
  }
}

function withSignal(signal: AbortSignal | undefined) {
  return signal === undefined ? {} : { signal }
}

async function readSys(file: string, dev: string): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).trim()
  } catch {
    throw errors.disk(dev, `cannot read ${file}; is sysfs mounted?`)
  }
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  )
}

/** mountinfo and /proc/swaps escape space, tab, newline and backslash as octal. */
function unescapeOctal(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)))
}

// Linux dev_t encoding (include/linux/kdev_t.h, new_encode_dev).
export function major(rdev: number): number {
  return ((rdev >> 8) & 0xfff) | (Math.floor(rdev / 2 ** 32) & ~0xfff)
}
export function minor(rdev: number): number {
  return (rdev & 0xff) | ((rdev >> 12) & 0xfff00)
}
