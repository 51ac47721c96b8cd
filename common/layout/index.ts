// Disk layouts: the file format (docs/disk-layout.md), its validation, and
// how a layout is placed on a disk of a given size. Pure: no I/O here; the
// install client's client/disks applies the result to a block device.
export { FS_MIN_MIB, GPT_TYPE, LABEL_MAX, MBR_TYPE, MIB, SECTOR, SECTORS_PER_MIB } from './constants.ts'
export { formatLayout, mountOrder, sfdiskScript } from './output.ts'
export { parseLayout } from './parse.ts'
export { partitionDevice, resolveLayout } from './resolve.ts'
export { fsLabel } from './rules.ts'
export { formatSize, parseSize } from './size.ts'
export type {
  Flag,
  FsType,
  Layout,
  PartitionSpec,
  ResolvedLayout,
  ResolvedPartition,
  Size,
  TableType,
} from './types.ts'
export { FLAGS, FS_TYPES, TABLES } from './types.ts'
