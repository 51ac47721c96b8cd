// What goes into the boot image, by name: Debian packages, programs, kernel
// modules. The build refuses to finish when one of the programs or required
// modules is missing, so these lists are the whole contract (docs/boot.md).

/** Packages asked for by name; their shared-library dependencies (lib*) follow automatically. */
export const PACKAGES = [
  'busybox-static',
  'libc6',
  'libstdc++6',
  'libgcc-s1',
  'util-linux',
  'fdisk',
  'mount',
  'e2fsprogs',
  'xfsprogs',
  'dosfstools',
  'grub-common',
  'grub2-common',
  'grub-pc-bin',
  'grub-efi-amd64-bin',
  'kexec-tools',
  'kmod',
  // sync -f (client/install/flush.ts): busybox's ignores what syncfs returns.
  'coreutils',
]

/** The kernel: the metapackage points at the versioned linux-image package. */
export const KERNEL_PACKAGE = 'linux-image-amd64'

/** Dependencies followed from the packages above: shared libraries and the versioned kernel. */
export function followDependency(name: string): boolean {
  return name.startsWith('lib') || /^linux-image-[0-9]/.test(name)
}

/**
 * Programs the install client runs (client/disks, client/bootloader,
 * client/identity, client/postaction), copied with their libraries. Paths
 * as Debian ships them; each must exist.
 */
export const PROGRAMS = [
  '/sbin/sfdisk',
  '/sbin/wipefs',
  '/sbin/blkid',
  '/sbin/blockdev',
  '/usr/bin/partx',
  '/bin/findmnt',
  '/bin/lsblk',
  '/bin/mount',
  '/bin/umount',
  '/sbin/mkfs.ext4',
  '/sbin/mke2fs',
  '/sbin/mkfs.xfs',
  '/sbin/mkfs.vfat',
  '/sbin/mkswap',
  '/usr/sbin/grub-install',
  '/usr/sbin/grub-probe',
  '/usr/bin/grub-mkimage',
  '/usr/bin/grub-mkrelpath',
  '/usr/bin/grub-editenv',
  '/sbin/kexec',
  '/bin/kmod',
  // Before busybox's applets, which never replace a program already there.
  '/bin/sync',
]

/** Data the programs read. */
export const DATA_DIRS = ['/usr/lib/grub/i386-pc', '/usr/lib/grub/x86_64-efi']
export const DATA_FILES = ['/etc/mke2fs.conf']

/** kmod's other names, as Debian links them. */
export const KMOD_LINKS = [
  '/sbin/modprobe',
  '/sbin/insmod',
  '/sbin/rmmod',
  '/sbin/lsmod',
  '/sbin/modinfo',
  '/sbin/depmod',
]

/** Required kernel modules (or built-ins): virtual machines, common disk controllers and file systems. */
export const MODULES = [
  'virtio_pci',
  'virtio_blk',
  'virtio_scsi',
  'virtio_net',
  'nvme',
  'ahci',
  'ata_piix',
  'sd_mod',
  'e1000',
  'e1000e',
  'igb',
  'ixgbe',
  'i40e',
  'mlx5_core',
  'ext4',
  'xfs',
  'vfat',
  'nls_cp437',
  'nls_ascii',
  'nls_iso8859_1',
  'crc32c_generic',
  'af_packet',
]

/** Further hardware, taken when this kernel has it. */
export const OPTIONAL_MODULES = [
  'crc32c_intel',
  'ice',
  'igc',
  'bnxt_en',
  'tg3',
  'bnx2',
  'bnx2x',
  'r8169',
  'vmxnet3',
  'hv_netvsc',
  'hv_storvsc',
  'mlx4_en',
  'qede',
  'sfc',
  'megaraid_sas',
  'mpt3sas',
  'aacraid',
  'smartpqi',
  'hpsa',
  'mptspi',
  'vmw_pvscsi',
  'xhci_pci',
  'ehci_pci',
  'uhci_hcd',
  'ohci_pci',
  'usb_storage',
  'uas',
  'sr_mod',
  'isofs',
  'efivarfs',
  'loop',
]
