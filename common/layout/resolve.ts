// Places a layout on a disk of a known size: every partition starts and ends
// on a 1 MiB boundary, the first at 1 MiB, and on GPT the backup table at the
// end of the disk stays free.
import { errors } from '../errors.ts'
import { FS_MIN_MIB, GPT_BACKUP_SECTORS, GPT_TYPE, MBR_TYPE, MIB, SECTORS_PER_MIB } from './constants.ts'
import { sizeMiB } from './size.ts'
import type { Layout, PartitionSpec, ResolvedLayout, ResolvedPartition, TableType } from './types.ts'

/**
 * @param device only used in messages (the disk's path, or a description).
 * @throws IMGSWARM_ERR_DISK_TOO_SMALL when the partitions do not fit;
 *         IMGSWARM_ERR_LAYOUT when a % or grow size comes out too small for its file system.
 */
export function resolveLayout(layout: Layout, diskBytes: number, device = 'the disk'): ResolvedLayout {
  if (!Number.isSafeInteger(diskBytes) || diskBytes < 0) {
    throw errors.disk(device, `size ${diskBytes} is not a whole number of bytes`)
  }
  const diskSectors = Math.floor(diskBytes / 512)
  const haveMiB = Math.floor(diskBytes / MIB)
  // Last whole MiB that partitions may use (exclusive), after the GPT backup area.
  const reserved = layout.table === 'gpt' ? GPT_BACKUP_SECTORS : 0
  const endMiB = Math.max(0, Math.floor((diskSectors - reserved) / SECTORS_PER_MIB))
  const availableMiB = Math.max(0, endMiB - 1)

  const wanted = layout.partitions.map((p) => wantedMiB(p, diskBytes))
  const fixedMiB = wanted.reduce((a: number, b) => a + (b ?? 0), 0)
  const growIndex = wanted.indexOf(undefined)
  const growMinMiB = growIndex < 0 ? 0 : FS_MIN_MIB[layout.partitions[growIndex]!.fs]
  if (fixedMiB + growMinMiB > availableMiB) {
    const overhead = haveMiB - availableMiB
    throw errors.diskTooSmall(device, fixedMiB + growMinMiB + overhead, haveMiB)
  }

  let startMiB = 1
  const partitions = layout.partitions.map((p, i): ResolvedPartition => {
    const mib = wanted[i] ?? availableMiB - fixedMiB
    const where = `[[partition]] ${i + 1} ("${p.label}")`
    if (mib < FS_MIN_MIB[p.fs]) {
      throw errors.layout(
        device,
        `${where}: size ${formatWanted(p)} comes to ${mib} MiB on this ${haveMiB} MiB disk; ${p.fs} needs at least ${FS_MIN_MIB[p.fs]} MiB`,
      )
    }
    const r: ResolvedPartition = {
      ...p,
      flags: [...p.flags],
      mkfsOptions: [...p.mkfsOptions],
      number: i + 1,
      startSector: startMiB * SECTORS_PER_MIB,
      sizeSectors: mib * SECTORS_PER_MIB,
      type: partitionType(p, layout.table),
    }
    startMiB += mib
    return r
  })
  return { table: layout.table, diskBytes, sectorSize: 512, partitions, devicePattern: '{disk}{p}{n}' }
}

/** MiB a partition asks for, or undefined for "grow". Percents are of the whole disk, rounded down to 1 MiB. */
function wantedMiB(p: PartitionSpec, diskBytes: number): number | undefined {
  const size = p.size
  if (size.unit === 'grow') return undefined
  if (size.unit === '%') return Math.floor((diskBytes * size.value) / 100 / MIB)
  return sizeMiB({ unit: size.unit, value: size.value })
}

function formatWanted(p: PartitionSpec): string {
  return p.size.unit === 'grow' ? '"grow"' : `"${p.size.value}${p.size.unit}"`
}

function partitionType(p: PartitionSpec, table: TableType): string {
  if (table === 'gpt') {
    if (p.flags.includes('bios_grub')) return GPT_TYPE.biosBoot
    if (p.flags.includes('esp')) return GPT_TYPE.esp
    if (p.fs === 'swap') return GPT_TYPE.linuxSwap
    if (p.fs === 'vfat') return GPT_TYPE.basicData
    return GPT_TYPE.linuxData
  }
  if (p.flags.includes('esp')) return MBR_TYPE.esp
  if (p.fs === 'swap') return MBR_TYPE.linuxSwap
  if (p.fs === 'vfat') return MBR_TYPE.fat32Lba
  return MBR_TYPE.linux
}

/** The device node of partition `n` on `disk`: /dev/sda + 1 = /dev/sda1, /dev/loop0 + 1 = /dev/loop0p1. */
export function partitionDevice(disk: string, n: number): string {
  return /[0-9]$/.test(disk) ? `${disk}p${n}` : `${disk}${n}`
}
