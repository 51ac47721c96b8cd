// GRUB for the installed system: BIOS and/or UEFI as the disk layout allows,
// from the image's own GRUB when it has one. docs/bootloader.md.
export { type GrubCfgInit, grubCfg } from './grubcfg.ts'
export { type BootloaderInit, type BootloaderResult, installBootloader } from './install.ts'
export { compareVersions, findKernels, type Kernel } from './kernels.ts'
export { PLATFORM_PACKAGE, type Platform } from './tools.ts'
