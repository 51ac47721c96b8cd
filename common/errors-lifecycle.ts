// Error codes of the image lifecycle: `image capture`, `image exec|shell`, `image diff`.
import { define, USAGE } from './error-core.ts'

export const lifecycleErrors = {
  captureTarget: define('IMGSWARM_ERR_CAPTURE_TARGET', USAGE, (what: string, value: string, rule: string) => ({
    message: `invalid ${what} ${JSON.stringify(value)}: ${rule}`,
    hint: 'see imgswarm image capture --help and docs/capture.md',
  })),
  captureSsh: define('IMGSWARM_ERR_CAPTURE_SSH', 1, (host: string, detail: string, hint: string) => ({
    message: `ssh to ${host}: ${detail}`,
    hint,
  })),
  captureRemote: define('IMGSWARM_ERR_CAPTURE_REMOTE', 1, (host: string, detail: string, hint: string) => ({
    message: `golden client ${host}: ${detail}`,
    hint,
  })),
  captureRsync: define('IMGSWARM_ERR_CAPTURE_RSYNC', 1, (code: number | string, detail: string) => ({
    message: `rsync failed (${code}): ${detail}; no version was made`,
    hint: 'fix the cause and capture again (nothing half-made is left in the store); docs/capture.md#troubleshooting',
  })),
  toolMissing: define('IMGSWARM_ERR_TOOL_MISSING', 1, (tool: string, where: string, pkg: string) => ({
    message: `${tool} is not installed ${where}`,
    hint: `install it there: apt-get install ${pkg}`,
  })),
  interrupted: define('IMGSWARM_ERR_INTERRUPTED', 130, (what: string) => ({
    message: `${what} was interrupted; nothing was kept`,
    hint: 'run it again',
  })),
  chroot: define('IMGSWARM_ERR_CHROOT', 1, (ref: string, detail: string) => ({
    message: `chroot into ${ref}: ${detail}`,
    hint: 'the image needs the command inside it (e.g. /bin/sh); see docs/image-edit.md',
  })),
  execFailed: define('IMGSWARM_ERR_EXEC_FAILED', 1, (cmd: string, status: string) => ({
    message: `${cmd} exited with ${status}; no version was made (the store is as it was)`,
    hint: 'fix the command and run it again; docs/image-edit.md',
  })),
  diffRead: define('IMGSWARM_ERR_DIFF_READ', 2, (what: string, detail: string) => ({
    message: `cannot compare ${what}: ${detail}`,
    hint: 'run it as root (image trees hold files only root can read); docs/image-edit.md#image-diff',
  })),
  mountsLeft: define('IMGSWARM_ERR_MOUNTS_LEFT', 1, (paths: string[]) => ({
    message: `mounts left under the image tree after the chroot: ${paths.join(', ')}`,
    hint: 'unmount them (umount -R PATH) before using the version; this is a bug in imgswarm if it happens',
  })),
}
