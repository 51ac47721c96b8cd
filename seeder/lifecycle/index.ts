// The image lifecycle beyond import: capture a running golden client over
// ssh+rsync (docs/capture.md), edit a version in a chroot, compare two
// versions (docs/image-edit.md).
export { type CaptureInit, type CaptureResult, captureImage } from './capture.ts'
export { type DiffEntry, type DiffStats, diffTrees, formatDiff } from './diff.ts'
export { type EditInit, type EditResult, editImage, mountsUnder } from './edit.ts'
export type { LayoutResult } from './layout.ts'
export { layoutFile } from './meta.ts'
export { type CapturePlan, DEFAULT_EXCLUDES, planCapture, REAL_FS } from './mounts.ts'
export type { RsyncStats } from './rsync.ts'
