// Disks for the install client: checks that a disk may be written, applies a
// layout (common/layout) to it, mounts the result and writes its fstab lines.
// Tools run through a CommandRunner so tests and dry runs can stand in.
export { type AppliedDisk, type AppliedPartition, type ApplyOptions, applyLayout } from './apply.ts'
export { assertNotRunningFrom, assertUnused, checkDisk, type DiskInfo, inspectDisk } from './checks.ts'
export { fstabLines, type Mounted, mountAll } from './mount.ts'
export {
  type CommandRunner,
  type CommandRunnerInit,
  createCommandRunner,
  type RunOptions,
  type RunResult,
  TOOL_PACKAGES,
} from './runner.ts'
