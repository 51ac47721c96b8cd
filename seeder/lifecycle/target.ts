// The golden client as given on the command line ([USER@]HOST, a port, a key,
// a known_hosts file) and the ssh command line made from it. Everything here
// ends up in an argument vector (never a local shell), but a HOST that starts
// with "-" would be read by ssh as an option, and rsync splits its -e string on
// spaces and quotes: so the values are checked strictly.
import { errors } from '../../common/errors.ts'

export interface SshTarget {
  user: string | undefined
  /** Host name or address, without brackets. */
  host: string
  port: number | undefined
  /** Private key file (ssh -i). */
  key: string | undefined
  /** known_hosts file to trust instead of ~/.ssh/known_hosts; host keys must match it. */
  knownHosts: string | undefined
  /** Seconds to wait for the TCP connection (default 15). */
  connectTimeout?: number
}

const USER = /^[A-Za-z_][A-Za-z0-9._-]{0,31}$/
const LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?'
const HOSTNAME = new RegExp(`^${LABEL}(?:\\.${LABEL})*\\.?$`)
const IPV6 = /^[0-9A-Fa-f:.]+(?:%[A-Za-z0-9_.-]+)?$/
/** Remote paths: absolute, and only characters that need no quoting anywhere. */
const REMOTE_PATH = /^\/[A-Za-z0-9._+@/-]*$/
/** Local file paths go into rsync's -e string inside single quotes. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing them is the point
const LOCAL_FILE_BAD = /['\\\0-\x1f\x7f]/

/** Parses `[USER@]HOST` (HOST: a name, an IPv4 address, or an IPv6 address, bracketed or not). */
export function parseTarget(spec: string): { user: string | undefined; host: string } {
  if (typeof spec !== 'string' || spec.length === 0 || spec.length > 300) {
    throw errors.captureTarget('--from', String(spec), 'expected [USER@]HOST')
  }
  const at = spec.lastIndexOf('@')
  const user = at >= 0 ? spec.slice(0, at) : undefined
  let host = at >= 0 ? spec.slice(at + 1) : spec
  if (user !== undefined && !USER.test(user)) {
    throw errors.captureTarget('user', user, 'a login name: letters, digits, . _ - (starting with a letter or _)')
  }
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1)
  const ok = host.includes(':') ? IPV6.test(host) : HOSTNAME.test(host)
  if (!ok) throw errors.captureTarget('host', host, 'a host name, an IPv4 address or an IPv6 address')
  return { user, host }
}

export function checkRemotePath(what: string, p: string): string {
  if (!REMOTE_PATH.test(p) || p.split('/').some((c) => c === '..' || c === '.') || p.length > 1024) {
    throw errors.captureTarget(what, p, 'an absolute path of letters, digits and . _ + @ - / without . or .. parts')
  }
  return p === '/' ? '/' : p.replace(/\/+$/, '')
}

export function checkLocalFile(what: string, p: string): string {
  if (p.length === 0 || LOCAL_FILE_BAD.test(p)) {
    throw errors.captureTarget(what, p, 'a file path without quotes, backslashes or control characters')
  }
  return p
}

/** `user@host` as ssh takes it. */
export function sshDestination(t: SshTarget): string {
  return t.user === undefined ? t.host : `${t.user}@${t.host}`
}

/** `user@host:` or `user@[v6]:` as rsync takes it before a remote path. */
export function rsyncPrefix(t: SshTarget): string {
  const h = t.host.includes(':') ? `[${t.host}]` : t.host
  return `${t.user === undefined ? '' : `${t.user}@`}${h}:`
}

/** ssh options, without the program name and destination. BatchMode: no password or host-key prompt ever hangs a capture. */
export function sshOptions(t: SshTarget): string[] {
  const o = [
    '-o',
    'BatchMode=yes',
    '-o',
    `ConnectTimeout=${t.connectTimeout ?? 15}`,
    // A golden client that dies mid-capture fails the capture in about a minute instead of hanging it.
    '-o',
    'ServerAliveInterval=15',
    '-o',
    'ServerAliveCountMax=4',
  ]
  if (t.port !== undefined) o.push('-p', String(t.port))
  if (t.key !== undefined) o.push('-i', t.key, '-o', 'IdentitiesOnly=yes')
  if (t.knownHosts !== undefined) {
    o.push('-o', `UserKnownHostsFile=${t.knownHosts}`, '-o', 'StrictHostKeyChecking=yes')
  }
  return o
}

/** rsync's -e value: the ssh command as one string, file paths single-quoted. */
export function rsyncShell(ssh: string, t: SshTarget): string {
  const quote = (a: string) => (/^[A-Za-z0-9._=/:+@-]+$/.test(a) ? a : `'${a}'`)
  return [ssh, ...sshOptions(t)].map(quote).join(' ')
}
