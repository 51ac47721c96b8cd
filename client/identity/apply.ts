// Gives the installed tree this node's identity: host name, fstab, an empty
// machine-id, fresh SSH host keys, and a record of the node's variables.
import { errors } from '../../common/errors.ts'
import type { CommandRunner } from '../disks/index.ts'
import { chrootExec, withChroot } from './chroot.ts'
import { checkHostname, envFileText, fstabText, hostsWithName } from './hosts.ts'
import {
  listTargetDir,
  readTargetFile,
  removeTargetFile,
  targetDirectory,
  targetExecutable,
  writeTargetFile,
} from './target-fs.ts'
import { type NodeVars, nodeEnv } from './vars.ts'

export interface IdentityInit {
  /** The node's host name; null keeps the image's /etc/hostname and /etc/hosts. */
  hostname: string | null
  /** fstab lines (client/disks fstabLines) when installing to a disk; null (--target-dir) leaves /etc/fstab alone. */
  fstab: string[] | null
  /** When given, recorded in /etc/imgswarm/node.env (the post-install scripts' variables). */
  vars?: NodeVars
  /** Runs mount/umount for the ssh-keygen chroot. */
  runner?: CommandRunner
  signal?: AbortSignal
  /** One line per step, for the console. */
  say?: (msg: string) => void
  /** Limit for ssh-keygen -A; default 2 min. */
  keygenTimeoutMs?: number
}

export interface IdentityResult {
  hostname: string | null
  fstab: boolean
  /** Host key files removed from /etc/ssh. */
  removedKeys: string[]
  /** 'regenerated' by the image's ssh-keygen, or 'first-boot' when the image has none. */
  sshKeys: 'regenerated' | 'first-boot'
}

const SSH_KEYGEN = '/usr/bin/ssh-keygen'

export async function applyIdentity(target: string, init: IdentityInit): Promise<IdentityResult> {
  const step = init.say ?? (() => {})
  const hostname = init.hostname === null ? null : checkHostname(init.hostname)
  init.signal?.throwIfAborted()

  if (hostname !== null) {
    await writeTargetFile(target, '/etc/hostname', `${hostname}\n`)
    await writeTargetFile(target, '/etc/hosts', hostsWithName(await readTargetFile(target, '/etc/hosts'), hostname))
    step(`host name ${hostname} (/etc/hostname, /etc/hosts)`)
  }
  if (init.fstab !== null) {
    await writeTargetFile(target, '/etc/fstab', fstabText(init.fstab))
    step(`/etc/fstab: ${init.fstab.length} entries by UUID`)
  }

  // Zero-length, not missing: systemd then generates the ID at first boot
  // and treats the boot as a first boot (presets applied).
  await writeTargetFile(target, '/etc/machine-id', '', 0o444)
  // Debian makes this a symlink to /etc/machine-id; a regular file would be a stale copy.
  await removeTargetFile(target, '/var/lib/dbus/machine-id', true)
  step('/etc/machine-id emptied: a new one is made at first boot')

  if (init.vars !== undefined) {
    await targetDirectory(target, '/etc/imgswarm')
    await writeTargetFile(target, '/etc/imgswarm/node.env', envFileText(nodeEnv(init.vars)))
  }

  const removedKeys: string[] = []
  for (const name of (await listTargetDir(target, '/etc/ssh')).sort()) {
    if (!name.startsWith('ssh_host_')) continue
    if (await removeTargetFile(target, `/etc/ssh/${name}`)) removedKeys.push(name)
  }
  const sshKeys = await regenerateKeys(target, init)
  step(
    sshKeys === 'regenerated'
      ? `SSH host keys regenerated (${removedKeys.length} old key files removed)`
      : `SSH host keys: ${removedKeys.length} removed; the image has no ${SSH_KEYGEN}, so its sshd makes them at first boot`,
  )
  return { hostname, fstab: init.fstab !== null, removedKeys, sshKeys }
}

async function regenerateKeys(target: string, init: IdentityInit): Promise<IdentityResult['sshKeys']> {
  if ((await targetExecutable(target, SSH_KEYGEN)) === undefined) return 'first-boot'
  await targetDirectory(target, '/etc/ssh')
  const chrootInit = {
    ...(init.runner === undefined ? {} : { runner: init.runner }),
    ...(init.signal === undefined ? {} : { signal: init.signal }),
  }
  const r = await withChroot(
    target,
    (root) =>
      chrootExec(root, [SSH_KEYGEN, '-A'], {
        env: { HOME: '/root', LC_ALL: 'C' },
        timeoutMs: init.keygenTimeoutMs ?? 120_000,
        keepLines: 10,
        ...(init.signal === undefined ? {} : { signal: init.signal }),
      }),
    chrootInit,
  )
  if (r.code !== 0) {
    const status = r.timedOut ? 'timed out' : r.code === null ? `killed by ${r.signal}` : `exit status ${r.code}`
    throw errors.tool(`${SSH_KEYGEN} -A (in the image)`, `${status}: ${r.lines.join(' | ')}`)
  }
  return 'regenerated'
}
