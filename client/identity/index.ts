// Node identity on the installed tree (host name, fstab, machine-id, SSH host
// keys), and the two tools the later install steps share: symlink-safe paths
// inside the tree (target-fs) and a chroot with /dev, /proc and /sys.
export { applyIdentity, type IdentityInit, type IdentityResult } from './apply.ts'
export {
  CHROOT_PATH,
  type ChrootExecInit,
  type ChrootExecResult,
  type ChrootInit,
  chrootExec,
  withChroot,
} from './chroot.ts'
export { checkHostname, hostsWithName } from './hosts.ts'
export {
  isFileInTarget,
  listTargetDir,
  readTargetFile,
  removeTargetFile,
  resolveInTarget,
  targetDirectory,
  targetExecutable,
  writeTargetFile,
} from './target-fs.ts'
export { type NodeVars, nodeEnv } from './vars.ts'
