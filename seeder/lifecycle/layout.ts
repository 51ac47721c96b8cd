// The golden client's disk as a layout file (docs/disk-layout.md): the disk
// that holds the captured root, read from `lsblk -J` on the client. Pure.
// What the format cannot say (LVM, RAID, logical partitions, btrfs) is
// either translated (noted in `notes`) or makes the layout undefined with a reason.
import { formatLayout, type Layout, type PartitionSpec, parseLayout } from '../../common/layout/index.ts'
import { labelProblem } from '../../common/layout/rules.ts'
import type { FsType, TableType } from '../../common/layout/types.ts'
import type { MountEntry } from './mounts.ts'

interface BlockDev {
  name?: string
  'maj:min'?: string
  size?: number | string
  type?: string
  fstype?: string | null
  parttype?: string | null
  pttype?: string | null
  label?: string | null
  partlabel?: string | null
  children?: BlockDev[]
}

export type LayoutResult = { layout: Layout; toml: string; disk: string; notes: string[] } | { reason: string }

const BIOS_GRUB = '21686148-6449-6e6f-744e-656564454649'
const ESP = 'c12a7328-f81f-11d2-ba4b-00a0c93ec93b'
const MIB = 1024 * 1024

function findParent(
  devs: BlockDev[],
  majMin: string,
  parent?: BlockDev,
): { dev: BlockDev; parent?: BlockDev } | undefined {
  for (const d of devs) {
    if (d['maj:min'] === majMin) return parent === undefined ? { dev: d } : { dev: d, parent }
    const hit = findParent(d.children ?? [], majMin, d)
    if (hit) return hit
  }
  return undefined
}

function fsOf(fstype: string | null | undefined, notes: string[], name: string): FsType {
  switch (fstype) {
    case 'ext4':
    case 'xfs':
    case 'vfat':
    case 'swap':
      return fstype
    case 'ext2':
    case 'ext3':
    case 'btrfs':
      notes.push(`${name}: ${fstype} on the client, ext4 in the layout (the layout format has no ${fstype})`)
      return 'ext4'
    default:
      return 'none'
  }
}

/**
 * @param mounts the captured file systems, with mount points relative to the capture root ("/" for the root).
 */
export function layoutFromLsblk(
  lsblkJson: string | undefined,
  rootMajMin: string | undefined,
  mounts: Map<string, string>,
): LayoutResult {
  if (lsblkJson === undefined) return { reason: 'lsblk is missing on the client or failed' }
  if (rootMajMin === undefined) return { reason: 'the mount that holds the root is unknown' }
  let devs: BlockDev[]
  try {
    devs = (JSON.parse(lsblkJson) as { blockdevices?: BlockDev[] }).blockdevices ?? []
    if (!Array.isArray(devs)) throw new Error('no list')
  } catch {
    return { reason: 'lsblk printed something that is not its JSON' }
  }
  const hit = findParent(devs, rootMajMin)
  if (!hit) return { reason: `no block device ${rootMajMin} holds the root (a network or virtual file system?)` }
  if (hit.dev.type !== 'part' || hit.parent === undefined || !['disk', 'loop'].includes(hit.parent.type ?? '')) {
    return {
      reason: `the root is on ${hit.dev.name} (${hit.dev.type}), not a partition of a disk: LVM, RAID and whole-disk file systems have no layout file form`,
    }
  }
  const disk = hit.parent
  // Without udev, lsblk may not know PTTYPE; the partition type codes tell GPT (GUIDs) from MBR (0xNN).
  const pttype =
    disk.pttype ??
    (/^0x/.test(hit.dev.parttype ?? '') ? 'dos' : /^[0-9a-f-]{36}$/i.test(hit.dev.parttype ?? '') ? 'gpt' : null)
  const table: TableType | undefined = pttype === 'gpt' ? 'gpt' : pttype === 'dos' ? 'msdos' : undefined
  if (table === undefined) return { reason: `${disk.name} has a partition table of type ${pttype ?? 'unknown'}` }
  const parts = (disk.children ?? []).filter((c) => c.type === 'part')
  const notes: string[] = []
  const partitions: PartitionSpec[] = []
  const used = new Set<string>()
  for (const [i, p] of parts.entries()) {
    const pt = (p.parttype ?? '').toLowerCase()
    if (table === 'msdos' && ['0x5', '0xf', '0x85'].includes(pt)) {
      return { reason: `${disk.name} has an extended partition; the layout format has primary partitions only` }
    }
    const name = p.name ?? `partition ${i + 1}`
    let fs = fsOf(p.fstype, notes, name)
    const flags: PartitionSpec['flags'] = []
    if (pt === BIOS_GRUB && table === 'gpt') {
      flags.push('bios_grub')
      fs = 'none'
    } else if ((pt === ESP || pt === '0xef') && fs === 'vfat') flags.push('esp')
    const mount = fs === 'ext4' || fs === 'xfs' || fs === 'vfat' ? mounts.get(p['maj:min'] ?? '') : undefined
    const wanted = (p.partlabel || p.label || '').replace(/[^A-Za-z0-9_-]/g, '-')
    let label = wanted
    if (label === '' || labelProblem(label, fs, table) !== undefined || used.has(label.toLowerCase()))
      label = `part${i + 1}`
    if (wanted !== '' && label !== wanted)
      notes.push(`${name}: label ${JSON.stringify(wanted)} does not fit the format, written as ${label}`)
    used.add(label.toLowerCase())
    const mib = Math.floor(Number(p.size ?? 0) / MIB)
    const last = i === parts.length - 1
    partitions.push({
      label,
      size: last ? { unit: 'grow' } : { unit: 'MiB', value: Math.max(1, mib) },
      fs,
      ...(mount === undefined ? {} : { mount }),
      flags,
      mkfsOptions: [],
    })
  }
  if (partitions.length === 0) return { reason: `${disk.name} shows no partitions` }
  notes.push('the last partition is written as size = "grow"; the others keep their size in MiB')
  const layout: Layout = { table, partitions }
  const toml = formatLayout(layout)
  try {
    parseLayout(toml, `${disk.name} as captured`)
  } catch (e) {
    return { reason: `the client's disk does not make a valid layout: ${(e as Error).message}` }
  }
  return { layout, toml, disk: `/dev/${disk.name}`, notes }
}

/** major:minor → mount point relative to the capture root, for the captured file systems (the root's own first). */
export function mountMap(captured: MountEntry[], rootMount: MountEntry | undefined, root: string): Map<string, string> {
  const m = new Map<string, string>()
  if (rootMount) m.set(rootMount.majMin, '/')
  for (const c of captured) {
    if (c === rootMount || m.has(c.majMin)) continue
    m.set(c.majMin, root === '/' ? c.mountPoint : c.mountPoint.slice(root.length))
  }
  return m
}
