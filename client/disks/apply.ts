// Writes a layout to a disk: wipe, partition, wait for the partition nodes,
// make the file systems, read back their UUIDs. Every check runs first.
import { readFile, stat } from 'node:fs/promises'
import { basename } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { errors } from '../../common/errors.ts'
import {
  fsLabel,
  type Layout,
  partitionDevice,
  type ResolvedLayout,
  type ResolvedPartition,
  sfdiskScript,
} from '../../common/layout/index.ts'
import { checkDisk } from './checks.ts'
import { type CommandRunner, createCommandRunner } from './runner.ts'

export interface ApplyOptions {
  signal?: AbortSignal
  /** One line per step, for the console and the server's event log. */
  onStep?: (msg: string) => void
  run?: CommandRunner
  /** How long to wait for partition device nodes to appear; default 15 s. */
  partitionTimeoutMs?: number
}

export interface AppliedPartition extends ResolvedPartition {
  /** Device node, e.g. /dev/sda2. */
  device: string
  /** File system UUID as blkid reports it; undefined for fs = "none". */
  uuid: string | undefined
}

export interface AppliedDisk {
  device: string
  table: ResolvedLayout['table']
  diskBytes: number
  resolved: ResolvedLayout
  partitions: AppliedPartition[]
}

export async function applyLayout(dev: string, layout: Layout, opts: ApplyOptions = {}): Promise<AppliedDisk> {
  const run = opts.run ?? createCommandRunner()
  const signal = opts.signal
  const sig = signal === undefined ? {} : { signal }
  const step = opts.onStep ?? (() => {})

  const { disk, resolved } = await checkDisk(dev, layout, { run, ...sig })
  const device = disk.device
  step(
    `disk ${device}: ${Math.floor(disk.bytes / 2 ** 20)} MiB, ${resolved.table}, ${resolved.partitions.length} partitions`,
  )

  // Old signatures on old partitions would otherwise survive inside the new
  // ones and make blkid (and then fstab) see a stale file system.
  for (const p of disk.partitions) {
    const node = `/dev/${p.name}`
    if (await isBlock(node)) await run.run('wipefs', ['-a', '-q', node], sig)
  }
  await run.run('wipefs', ['-a', '-q', device], sig)
  step(`wiped old signatures on ${device}`)

  await run.run('sfdisk', ['--wipe', 'always', '--wipe-partitions', 'always', '-q', device], {
    input: sfdiskScript(resolved),
    ...sig,
  })
  step(`wrote the ${resolved.table} partition table`)

  await rereadPartitions(run, device, sig)
  const partitions: AppliedPartition[] = []
  for (const p of resolved.partitions) {
    const node = partitionDevice(device, p.number)
    await waitForPartition(node, p, opts.partitionTimeoutMs ?? 15_000, signal)
    partitions.push({ ...p, device: node, uuid: undefined })
  }

  for (const p of partitions) {
    const mk = mkfsCommand(p)
    if (mk === undefined) continue
    step(`formatting ${p.device} (${p.label}) as ${p.fs}`)
    await run.run(mk[0], mk[1], sig)
    const id = await run.run('blkid', ['-p', '-s', 'UUID', '-o', 'value', p.device], sig)
    p.uuid = id.stdout.trim()
    if (p.uuid === '') throw errors.disk(p.device, `blkid finds no UUID after mkfs ${p.fs}; the format did not take`)
  }
  step(`disk ${device} ready`)
  return { device, table: resolved.table, diskBytes: disk.bytes, resolved, partitions }
}

/**
 * Makes the kernel see the new table. The kernel's own parser may be missing
 * or the disk busy (minimal kernels, loop devices), so partx adds what the
 * re-read did not; udev may be absent too, so waitForPartition polls.
 */
async function rereadPartitions(run: CommandRunner, device: string, sig: { signal?: AbortSignal }): Promise<void> {
  await run.run('blockdev', ['--rereadpt', device], sig).catch(() => undefined)
  await run.run('partx', ['-u', device], sig)
}

async function waitForPartition(node: string, p: ResolvedPartition, timeoutMs: number, signal?: AbortSignal) {
  const sys = `/sys/class/block/${basename(node)}`
  const deadline = Date.now() + timeoutMs
  for (;;) {
    signal?.throwIfAborted()
    const [start, size] = await Promise.all([readNum(`${sys}/start`), readNum(`${sys}/size`)])
    // Matching start and size proves the kernel knows the new partition, not a stale one of the same number.
    if (start === p.startSector && size === p.sizeSectors && (await isBlock(node))) return
    if (Date.now() > deadline) {
      throw errors.disk(
        node,
        `the partition did not appear within ${timeoutMs / 1000} s (kernel sees start=${start ?? '-'} size=${size ?? '-'}, want start=${p.startSector} size=${p.sizeSectors})`,
        'check dmesg; with no udev, /dev must be devtmpfs so partition nodes appear by themselves',
      )
    }
    await sleep(100, undefined, signal === undefined ? {} : { signal })
  }
}

/**
 * The device comes right after our own options and before the layout's
 * mkfs_options, so it stays the first positional argument whatever those say
 * (the runner keeps getopt permuting). Labels were checked by the parser.
 */
function mkfsCommand(p: AppliedPartition): [string, string[]] | undefined {
  const label = fsLabel(p.label, p.fs)
  switch (p.fs) {
    case 'ext4':
      return ['mkfs.ext4', ['-F', '-q', '-L', label, p.device, ...p.mkfsOptions]]
    case 'xfs':
      return ['mkfs.xfs', ['-f', '-q', '-L', label, p.device, ...p.mkfsOptions]]
    case 'vfat':
      return ['mkfs.vfat', ['-F', '32', '-n', label, p.device, ...p.mkfsOptions]]
    case 'swap':
      return ['mkswap', ['-L', label, p.device, ...p.mkfsOptions]]
    case 'none':
      return undefined
  }
}

async function isBlock(p: string): Promise<boolean> {
  return stat(p).then(
    (s) => s.isBlockDevice(),
    () => false,
  )
}

async function readNum(file: string): Promise<number | undefined> {
  return readFile(file, 'utf8').then(
    (s) => Number(s.trim()),
    () => undefined,
  )
}
