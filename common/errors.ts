// One registry of error conditions. Callers match on `code`, never on the
// message; the message tells a person what happened and what to do next.

import { define, HOSTILE, ImgswarmError, USAGE } from './error-core.ts'
import { bootErrors } from './errors-boot.ts'
import { clusterErrors } from './errors-cluster.ts'
import { dashboardErrors } from './errors-dashboard.ts'
import { fetchErrors } from './errors-fetch.ts'
import { fleetErrors } from './errors-fleet.ts'
import { indexErrors } from './errors-index.ts'
import { initramfsErrors } from './errors-initramfs.ts'
import { inplaceErrors } from './errors-inplace.ts'
import { lifecycleErrors } from './errors-lifecycle.ts'
import { pxeErrors } from './errors-pxe.ts'
import { scheduleErrors } from './errors-schedule.ts'
import { signErrors } from './errors-sign.ts'
import { swarmErrors } from './errors-swarm.ts'
import { tlsErrors } from './errors-tls.ts'
import { updateErrors } from './errors-update.ts'

export { ImgswarmError }

const baseErrors = {
  // Input from people
  invalidName: define('IMGSWARM_ERR_INVALID_NAME', USAGE, (what: string, value: string, rule: string) => ({
    message: `invalid ${what} ${JSON.stringify(value)}: ${rule}`,
  })),
  usage: define('IMGSWARM_ERR_USAGE', USAGE, (message: string, hint?: string) =>
    hint === undefined ? { message } : { message, hint },
  ),
  config: define('IMGSWARM_ERR_CONFIG', USAGE, (file: string, detail: string) => ({
    message: `config file ${file}: ${detail}`,
    hint: 'fix the file, or point --config at another one',
  })),

  // Store
  storeMissing: define('IMGSWARM_ERR_STORE_MISSING', 1, (dir: string) => ({
    message: `the store ${dir} does not exist`,
    hint: 'import an image first (imgswarm image import DIR NAME), or pass --store DIR / IMGSWARM_STORE',
  })),
  notFound: define('IMGSWARM_ERR_NOT_FOUND', 1, (what: string, ref: string, hint?: string) => ({
    message: `${what} ${ref} not found`,
    hint: hint ?? `list what exists with: imgswarm ${what === 'override' ? 'override' : 'image'} list`,
  })),
  exists: define('IMGSWARM_ERR_EXISTS', 1, (what: string, ref: string) => ({
    message: `${what} ${ref} already exists`,
    hint: 'versions are immutable: pick another version, or remove the old one first',
  })),
  immutable: define('IMGSWARM_ERR_IMMUTABLE', 1, (ref: string) => ({
    message: `${ref} is packed and therefore immutable`,
    hint: 'copy it to a new version (image cp) and change that one',
  })),
  notPacked: define('IMGSWARM_ERR_NOT_PACKED', 1, (ref: string) => ({
    message: `${ref} has not been packed`,
    hint: `pack it first: imgswarm image pack ${ref}`,
  })),
  sourceNotDir: define('IMGSWARM_ERR_SOURCE', USAGE, (dir: string, detail: string) => ({
    message: `cannot import ${dir}: ${detail}`,
  })),
  tool: define('IMGSWARM_ERR_TOOL', 1, (tool: string, detail: string, pkg?: string) => ({
    message: `${tool} failed: ${detail}`,
    ...(pkg === undefined ? {} : { hint: `install it: apt-get install ${pkg}` }),
  })),

  // Archives: hostile or corrupt input
  pathEscape: define('IMGSWARM_ERR_PATH_ESCAPE', HOSTILE, (entry: string, why: string) => ({
    message: `archive entry ${entry}: ${why}; refusing to extract outside the target`,
    hint: 'the archive is hostile or corrupt: do not use it',
  })),
  pathThroughSymlink: define('IMGSWARM_ERR_PATH_THROUGH_SYMLINK', HOSTILE, (entry: string, link: string) => ({
    message: `archive entry ${entry}: its parent ${link} is a symlink or not a directory; refusing to write through it`,
    hint: 'the archive is hostile or corrupt: do not use it',
  })),
  hardlinkEscape: define('IMGSWARM_ERR_HARDLINK', HOSTILE, (entry: string, target: string, why: string) => ({
    message: `archive entry ${entry}: hard link to ${target} refused: ${why}`,
    hint: 'the archive is hostile or corrupt: do not use it',
  })),
  headerTooLarge: define('IMGSWARM_ERR_HEADER_TOO_LARGE', HOSTILE, (entry: string, size: number, limit: number) => ({
    message: `archive entry ${entry}: extended header of ${size} bytes exceeds the limit of ${limit}`,
    hint: 'the archive is hostile or corrupt: do not use it',
  })),
  nameTooLong: define('IMGSWARM_ERR_NAME_TOO_LONG', HOSTILE, (entry: string, detail: string) => ({
    message: `archive entry ${entry}: ${detail}`,
  })),
  archiveCorrupt: define('IMGSWARM_ERR_ARCHIVE_CORRUPT', HOSTILE, (offset: number, detail: string) => ({
    message: `corrupt archive at byte ${offset}: ${detail}`,
    hint: 'the archive is damaged or not a tar archive; verify it against its manifest (imgswarm image verify)',
  })),
  archiveTruncated: define('IMGSWARM_ERR_ARCHIVE_TRUNCATED', HOSTILE, (offset: number, detail: string) => ({
    message: `archive ends early at byte ${offset}: ${detail}`,
    hint: 'the download or copy was cut short; fetch it again',
  })),
  unsupportedEntry: define('IMGSWARM_ERR_UNSUPPORTED_ENTRY', HOSTILE, (entry: string, detail: string) => ({
    message: `archive entry ${entry}: ${detail}`,
  })),

  // Integrity
  manifestSignature: define('IMGSWARM_ERR_MANIFEST_SIGNATURE', HOSTILE, (file: string, detail: string) => ({
    message: `manifest ${file}: signature check failed: ${detail}`,
    hint: 'the manifest was changed or signed by another key; do not install from it',
  })),
  manifestInvalid: define('IMGSWARM_ERR_MANIFEST_INVALID', HOSTILE, (file: string, detail: string) => ({
    message: `manifest ${file}: ${detail}`,
  })),
  checksum: define('IMGSWARM_ERR_CHECKSUM', HOSTILE, (file: string, detail: string) => ({
    message: `${file}: ${detail}`,
    hint: 're-pack the image, or fetch the archive again',
  })),

  // Extraction: the archive is fine but the target file system said no (ENOSPC, EPERM...)
  extractIo: define('IMGSWARM_ERR_EXTRACT_IO', 1, (entry: string, detail: string) => ({
    message: `cannot extract archive entry ${entry}: ${detail}`,
    hint: 'check free space, permissions and that the target file system supports what the image needs',
  })),

  // HTTP API
  unauthorized: define('IMGSWARM_ERR_UNAUTHORIZED', USAGE, (detail: string) => ({
    message: `admin token ${detail}`,
    hint: 'send "Authorization: Bearer TOKEN" with the token from STORE/keys/admin.token',
  })),
  invalidRequest: define('IMGSWARM_ERR_INVALID_REQUEST', USAGE, (detail: string, hint?: string) =>
    hint === undefined ? { message: detail } : { message: detail, hint },
  ),
  inUse: define('IMGSWARM_ERR_IN_USE', 1, (ref: string, detail: string) => ({
    message: `${ref} is in use: ${detail}`,
    hint: 'change the plans so that no node installs it (then reload them), and try again',
  })),
  planUnresolved: define('IMGSWARM_ERR_PLAN_UNRESOLVED', 1, (node: string, detail: string, plansFile: string) => ({
    message: `the install plan for ${node} cannot be served: ${detail}`,
    hint: `pack what the plan names (imgswarm image pack REF), or fix ${plansFile} and reload the plans`,
  })),
  notSupported: define('IMGSWARM_ERR_NOT_SUPPORTED', 1, (what: string) => ({
    message: `${what} is not available on this server`,
  })),
  rangeNotSatisfiable: define('IMGSWARM_ERR_RANGE', USAGE, (range: string, size: number) => ({
    message: `range ${range} is outside the file (${size} bytes)`,
  })),
  bodyTooLarge: define('IMGSWARM_ERR_BODY_TOO_LARGE', USAGE, (limit: number) => ({
    message: `request body larger than ${limit} bytes`,
  })),

  // Network services (tracker)
  listen: define('IMGSWARM_ERR_LISTEN', 1, (what: string, where: string, detail: string, hint: string) => ({
    message: `cannot listen for ${what} on ${where}: ${detail}`,
    hint,
  })),

  // serve
  portInUse: define('IMGSWARM_ERR_PORT_IN_USE', 1, (what: string, addr: string) => ({
    message: `${what} cannot listen on ${addr}: the address is already in use`,
    hint: 'another imgswarm serve (or another program) holds it: stop it, or choose another port with the flag',
  })),
  keyMissing: define('IMGSWARM_ERR_KEY_MISSING', 1, (file: string) => ({
    message: `the store has no manifest-signing key (${file})`,
    hint: 'create one with: imgswarm keys show (or pack an image, which creates it)',
  })),

  // Disk layouts and the disks they are applied to
  layout: define('IMGSWARM_ERR_LAYOUT', USAGE, (file: string, detail: string) => ({
    message: `disk layout ${file}: ${detail}`,
    hint: 'fix the layout file; its format is described in docs/disk-layout.md',
  })),
  diskTooSmall: define('IMGSWARM_ERR_DISK_TOO_SMALL', 1, (dev: string, needMiB: number, haveMiB: number) => ({
    message: `${dev}: disk too small: needs ${needMiB} MiB, has ${haveMiB} MiB`,
    hint: 'use a bigger disk, or shrink the fixed and % sizes in the layout',
  })),
  disk: define('IMGSWARM_ERR_DISK', 1, (dev: string, detail: string, hint?: string) =>
    hint === undefined ? { message: `${dev}: ${detail}` } : { message: `${dev}: ${detail}`, hint },
  ),
  writeback: define('IMGSWARM_ERR_WRITEBACK', 1, (dir: string, detail: string) => ({
    message: `the file system at ${dir} could not write the install to disk: ${detail}`,
    hint: 'the disk returned I/O errors while flushing; check dmesg, then replace the disk (or free its backing store) and reinstall',
  })),
  diskInUse: define('IMGSWARM_ERR_DISK_IN_USE', 1, (dev: string, detail: string) => ({
    message: `${dev} is in use: ${detail}; nothing was written`,
    hint: 'pick another disk (imgswarm.disk=), or unmount/deactivate what uses it first',
  })),

  // Install client
  cmdline: define('IMGSWARM_ERR_CMDLINE', USAGE, (key: string, detail: string) => ({
    message: `kernel command line: ${key}: ${detail}`,
    hint: 'fix the boot entry (PXE/iPXE config, GRUB or the ISO) that passes this parameter; see docs/kernel-parameters.md',
  })),
  pubkeyMissing: define('IMGSWARM_ERR_PUBKEY_MISSING', USAGE, () => ({
    message: 'the client refuses to install without a pinned server key: pass --pubkey FILE or imgswarm.pubkey=',
    hint: "the key is the server's STORE/keys/manifest-signing.pub (imgswarm keys show prints it)",
  })),
  planInvalid: define('IMGSWARM_ERR_PLAN_INVALID', HOSTILE, (field: string, detail: string) => ({
    message: `install plan: ${field}: ${detail}`,
    hint: 'the server sent a plan this client does not accept: check that server and client versions match',
  })),
  planMismatch: define('IMGSWARM_ERR_PLAN_MISMATCH', HOSTILE, (what: string, detail: string) => ({
    message: `${what}: ${detail}`,
    hint: 'the plan and the signed manifest disagree: do not install; re-pack on the server and check what serves the plan',
  })),
  noPlan: define('IMGSWARM_ERR_NO_PLAN', 1, (server: string, detail: string, hint?: string) => ({
    message: `${server} has no install plan for this node: ${detail}`,
    hint: hint ?? "add a [[node]] for this node to the server's plans file and reload the plans",
  })),
  badResponse: define('IMGSWARM_ERR_BAD_RESPONSE', HOSTILE, (url: string, detail: string) => ({
    message: `${url}: ${detail}`,
    hint: 'check that the URL points at an imgswarm server of a matching version',
  })),
  imagePin: define('IMGSWARM_ERR_IMAGE_PIN', 1, (pin: string, planned: string) => ({
    message: `this node is pinned to image ${pin} (imgswarm.image), but its plan names ${planned}; refusing to install`,
    hint: "the pin is a safety check, not an override: change the node's plan on the server, or boot without imgswarm.image=",
  })),
  unreachable: define('IMGSWARM_ERR_UNREACHABLE', 1, (server: string, detail: string) => ({
    message: `server ${server} unreachable: ${detail}`,
    hint: 'check the network, the imgswarm.server= parameter, and that imgswarm serve runs there',
  })),
}

/** Every error condition, by area; the area files own their codes. */
export const errors = {
  ...baseErrors,
  ...indexErrors,
  ...inplaceErrors,
  ...swarmErrors,
  ...bootErrors,
  ...pxeErrors,
  ...clusterErrors,
  ...initramfsErrors,
  ...dashboardErrors,
  ...fleetErrors,
  ...lifecycleErrors,
  ...scheduleErrors,
  ...signErrors,
  ...fetchErrors,
  ...tlsErrors,
  ...updateErrors,
}

export function isImgswarmError(e: unknown, code?: string): e is ImgswarmError {
  return e instanceof ImgswarmError && (code === undefined || e.code === code)
}
