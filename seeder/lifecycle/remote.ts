// One ssh session to the golden client before the copy: is rsync there, what
// is mounted, which swap files are in use, what its disks look like. The
// script goes in on stdin of `sh -s`, so the remote login shell only ever
// sees "/bin/sh -s -- ROOT" (ROOT checked by checkRemotePath).
import { errors } from '../../common/errors.ts'
import { firstLines, runTool } from './run.ts'
import { type SshTarget, sshDestination, sshOptions } from './target.ts'

export interface RemoteFacts {
  /** Path of rsync on the client, or undefined when it has none. */
  rsync: string | undefined
  mountinfo: string
  swaps: string
  /** `lsblk -J` output, or undefined when lsblk is missing or failed. */
  lsblk: string | undefined
  /** The capture root with symlinks resolved. */
  root: string
}

const SCRIPT = `set -u
echo @@rsync; command -v rsync || true
echo @@mountinfo; cat /proc/self/mountinfo
echo @@swaps; cat /proc/swaps 2>/dev/null || true
echo @@lsblk; lsblk -J -b -o NAME,MAJ:MIN,SIZE,TYPE,FSTYPE,MOUNTPOINT,PARTTYPE,PTTYPE,LABEL,PARTLABEL 2>/dev/null || true
echo @@root; cd "$1" 2>/dev/null && pwd -P || true
echo @@end
`

/** Turns an ssh failure (exit 255) into an error a person can act on. */
export function sshFailure(t: SshTarget, stderr: string): Error {
  const host = sshDestination(t)
  const msg = firstLines(stderr)
  if (/Permission denied|Too many authentication failures/i.test(stderr)) {
    return errors.captureSsh(
      host,
      `authentication failed (${msg})`,
      `ssh needs a key the client accepts, without a password prompt: pass --ssh-key FILE or load it into ssh-agent, and add its .pub to ${t.user ?? 'root'}'s authorized_keys on the client`,
    )
  }
  if (/Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED|No .* host key is known/i.test(stderr)) {
    return errors.captureSsh(
      host,
      `host key not trusted (${msg})`,
      'add the client to known_hosts first (ssh-keyscan, checked against the client), or pass --known-hosts FILE',
    )
  }
  return errors.captureSsh(
    host,
    msg,
    'check the host name, the port (--ssh-port) and that sshd runs on the client (ssh -v to see more)',
  )
}

export async function readRemote(ssh: string, t: SshTarget, root: string, signal?: AbortSignal): Promise<RemoteFacts> {
  let r: Awaited<ReturnType<typeof runTool>>
  try {
    r = await runTool(ssh, [...sshOptions(t), sshDestination(t), '/bin/sh', '-s', '--', root], {
      input: SCRIPT,
      ...(signal === undefined ? {} : { signal }),
    })
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      throw errors.toolMissing('ssh', 'on this server', 'openssh-client')
    }
    throw e
  }
  if (signal?.aborted) throw errors.interrupted('capture')
  if (r.code === 255) throw sshFailure(t, r.stderr)
  const sections = new Map<string, string>()
  let current: string | undefined
  for (const line of r.stdout.split('\n')) {
    const m = /^@@([a-z]+)$/.exec(line)
    if (m) {
      current = m[1]
      sections.set(current as string, '')
    } else if (current !== undefined) sections.set(current, `${sections.get(current)}${line}\n`)
  }
  if (!sections.has('end')) {
    throw errors.captureRemote(
      sshDestination(t),
      `the probe script did not finish (exit ${r.code}: ${firstLines(r.stderr)})`,
      'the login shell must run commands (no ForceCommand, no restricted shell); see docs/capture.md',
    )
  }
  const get = (k: string) => (sections.get(k) ?? '').trim()
  const resolved = get('root')
  if (resolved === '') {
    throw errors.captureRemote(sshDestination(t), `${root} is not a directory there`, 'check --root')
  }
  const lsblk = get('lsblk')
  return {
    rsync: get('rsync') || undefined,
    mountinfo: get('mountinfo'),
    swaps: get('swaps'),
    lsblk: lsblk.startsWith('{') ? lsblk : undefined,
    root: resolved,
  }
}
