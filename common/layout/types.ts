// The shapes of a disk layout: as written by a person (Layout) and as placed
// on a disk of a known size (ResolvedLayout).

export const TABLES = ['gpt', 'msdos'] as const
export type TableType = (typeof TABLES)[number]

export const FS_TYPES = ['ext4', 'xfs', 'vfat', 'swap', 'none'] as const
export type FsType = (typeof FS_TYPES)[number]

export const FLAGS = ['bios_grub', 'esp', 'boot'] as const
export type Flag = (typeof FLAGS)[number]

/** A size as written: kept in its unit so a layout prints back the way it was read. */
export type Size = { unit: 'MiB' | 'GiB' | '%'; value: number } | { unit: 'grow' }

export interface PartitionSpec {
  label: string
  size: Size
  fs: FsType
  /** Absolute, normalized mount point; only for ext4, xfs and vfat. */
  mount?: string
  flags: Flag[]
  /** Extra arguments for the mkfs tool, passed as an argument array (no shell). */
  mkfsOptions: string[]
}

export interface Layout {
  table: TableType
  partitions: PartitionSpec[]
}

export interface ResolvedPartition extends PartitionSpec {
  /** 1-based partition number, as in /dev/sda1. */
  number: number
  /** In 512-byte sectors; both are multiples of 2048 (1 MiB). */
  startSector: number
  sizeSectors: number
  /** GPT type GUID or MBR type code (hex, no 0x), as sfdisk takes it. */
  type: string
}

export interface ResolvedLayout {
  table: TableType
  diskBytes: number
  sectorSize: 512
  partitions: ResolvedPartition[]
  /**
   * How partition device nodes are named: `{disk}{p}{n}`, where `{p}` is "p"
   * when the disk name ends in a digit (/dev/loop0p1, /dev/nvme0n1p1) and empty
   * otherwise (/dev/sda1). partitionDevice() applies it.
   */
  devicePattern: '{disk}{p}{n}'
}
