// Constants for partition tables and file systems, each with its source.

/** Logical sector size we write tables for; 4Kn disks are refused (see client/disks). */
export const SECTOR = 512

/** 1 MiB in bytes and in 512-byte sectors: the alignment every partitioner uses since ~2010. */
export const MIB = 1024 * 1024
export const SECTORS_PER_MIB = MIB / SECTOR

/**
 * UEFI 2.10 section 5.3: the backup GPT at the end of the disk is one header
 * sector plus 128 entries x 128 bytes = 32 sectors.
 */
export const GPT_BACKUP_SECTORS = 33

/** UEFI 2.10 table 5-7 and the Discoverable Partitions Specification (UAPI group). */
export const GPT_TYPE = {
  /** GRUB's BIOS boot partition ("Hah!IdontNeedEFI"), GRUB manual "BIOS installation". */
  biosBoot: '21686148-6449-6E6F-744E-656564454649',
  /** EFI System Partition, UEFI 2.10 table 5-7. */
  esp: 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B',
  /** Linux swap, Discoverable Partitions Specification. */
  linuxSwap: '0657FD6D-A4AB-43C4-84E5-0933C84B4F4F',
  /** Linux generic file system data, Discoverable Partitions Specification. */
  linuxData: '0FC63DAF-8483-4772-8E79-3D69D8477DE4',
  /** Microsoft basic data: what FAT file systems other than the ESP carry. */
  basicData: 'EBD0A0A2-B9E5-4433-87C0-68B6B72699C7',
} as const

/** UEFI 2.10 table 5-8: GPT attribute bit 2, named this way by sfdisk(8). */
export const GPT_ATTR_LEGACY_BOOT = 'LegacyBIOSBootable'

/** MBR partition type bytes (the IBM PC table as listed by `sfdisk --list-types`). */
export const MBR_TYPE = {
  linux: '83',
  linuxSwap: '82',
  /** FAT32 with LBA addressing. */
  fat32Lba: 'c',
  /** EFI System Partition on MBR disks (UEFI 2.10 section 5.2.2). */
  esp: 'ef',
} as const

/** An MBR holds four primary entries; logical partitions need an extended one, which we do not write. */
export const MBR_MAX_PRIMARY = 4

/**
 * File system label limits: ext2/3/4 s_volume_name is 16 bytes (e2fsprogs
 * mke2fs(8)); XFS sb_fname is 12 bytes (mkfs.xfs(8)); FAT BS_VolLab is 11 bytes
 * (Microsoft FAT spec); mkswap(8) labels are 16 bytes; GPT names are 36 UTF-16
 * units but we keep 16 so the same label fits every file system but FAT/XFS.
 */
export const LABEL_MAX = { gpt: 16, ext4: 16, xfs: 12, vfat: 11, swap: 16, none: 16 } as const

/**
 * Smallest partitions the mkfs tools accept: xfsprogs >= 5.19 refuses file
 * systems under 300 MiB; FAT32 needs 65525 clusters (about 33 MiB with 512-byte
 * clusters); mkswap needs ten pages. Checked when sizes are resolved so a bad
 * layout fails before the disk is touched.
 */
export const FS_MIN_MIB = { ext4: 2, xfs: 300, vfat: 33, swap: 1, none: 1 } as const
