// The imgswarm.* kernel parameters (docs/kernel-parameters.md). /proc/cmdline
// comes from whoever controls the boot entry, so it is parsed as hostile
// input: bounded, tokenised the way the kernel does it, and every value
// checked strictly before the client acts on it.
import { isIP } from 'node:net'
import { errors } from './errors.ts'
import { parseRef } from './names.ts'
import { POST_ACTIONS, type PostAction } from './plan.ts'

/** Longer than any architecture's COMMAND_LINE_SIZE (x86: 2048), so a real line always fits. */
export const MAX_CMDLINE = 4096
export const MAX_VALUE = 1024
export const PREFIX = 'imgswarm.'

export type IpSetting =
  | { mode: 'dhcp' }
  | { mode: 'static'; address: string; prefix: number; gateway: string; dns: string[] }

/** `raw`: the 32-byte ed25519 public key, base64. `file`: a PEM (SPKI) inside the initramfs. */
export type PubkeySetting = { kind: 'raw'; base64: string } | { kind: 'file'; path: string }

export interface CmdlineParams {
  server?: string
  image?: string
  hostname?: string
  post?: PostAction
  monitor?: string
  debug?: boolean
  pubkey?: PubkeySetting
  ip?: IpSetting
  disk?: string
  mac?: string
  /** Absolute path of the pinned CA (PEM) inside the boot image: https:// servers must chain to it (docs/tls.md). */
  ca?: string
  /** Unknown imgswarm.* keys and repeated keys: worth a console line, not a failed boot. */
  warnings: string[]
}

export type CmdlineKey = Exclude<keyof CmdlineParams, 'warnings'>
type Key = CmdlineKey
type Bad = (detail: string) => Error
/** Parameters that the boot image's /init reads (initramfs/init.sh, docs/kernel-parameters.md), not the client: no warning. */
export const INIT_KEYS: readonly string[] = ['modules', 'netwait', 'break']

export const CMDLINE_KEYS: readonly Key[] = [
  'server',
  'image',
  'hostname',
  'post',
  'monitor',
  'debug',
  'pubkey',
  'ip',
  'disk',
  'mac',
  'ca',
]

const MAC = /^[0-9a-f]{2}([:-]?)[0-9a-f]{2}(\1[0-9a-f]{2}){4}$/i
const HOSTNAME = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/
const RAW_KEY = /^[A-Za-z0-9+/]{43}=$/
// ASCII whitespace only, as the kernel's isspace() for command lines.
const WS = /[ \t\n\v\f\r]/
const DISK = /^\/dev(\/[A-Za-z0-9._:+@-]{1,255})+$/
// Control characters (C0, DEL, C1): never meaningful in a parameter, and
// they could forge lines on the console or in logs.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching them is the point
export const CONTROL = /[\u0000-\u001f\u007f-\u009f]/

/** `52-54-00-12-34-56`, `525400123456`, upper case: all become `52:54:00:12:34:56`; undefined if not a MAC. */
export function normalizeMac(v: string): string | undefined {
  if (!MAC.test(v)) return undefined
  return v.replace(/[:-]/g, '').toLowerCase().match(/../g)?.join(':')
}

/** RFC 1123 host name (one or more labels), lower-cased; undefined if invalid. */
export function normalizeHostname(v: string): string | undefined {
  const s = v.toLowerCase()
  return HOSTNAME.test(s) ? s : undefined
}

/** An http(s) URL without credentials, query or fragment; trailing slashes dropped. */
export function checkHttpUrl(v: string, bad: Bad): string {
  let u: URL
  try {
    u = new URL(v)
  } catch {
    throw bad(`${JSON.stringify(v)} is not a URL`)
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw bad('only http:// and https:// URLs')
  if (u.username || u.password || u.search || u.hash) throw bad('no user, password, query or fragment in the URL')
  return u.href.replace(/\/+$/, '')
}

export function parseIp(v: string, bad: Bad): IpSetting {
  if (v === 'dhcp') return { mode: 'dhcp' }
  const form = () => bad(`${JSON.stringify(v)}: expected dhcp or ADDR/PREFIX,GATEWAY[,DNS[,DNS…]]`)
  const parts = v.split(',')
  const [cidr, gateway, ...dns] = parts
  if (cidr === undefined || gateway === undefined || dns.length > 3) throw form()
  const m = /^([^/]+)\/([0-9]{1,3})$/.exec(cidr)
  if (!m) throw form()
  const address = (m[1] as string).toLowerCase()
  const family = isIP(address)
  const prefix = Number(m[2])
  if (family === 0 || prefix > (family === 4 ? 32 : 128)) throw form()
  const gw = gateway.toLowerCase()
  if (isIP(gw) !== family) throw bad(`gateway ${JSON.stringify(gateway)} is not an IPv${family} address`)
  const servers = dns.map((d) => d.toLowerCase())
  for (const d of servers) if (isIP(d) === 0) throw bad(`DNS server ${JSON.stringify(d)} is not an IP`)
  return { mode: 'static', address, prefix, gateway: gw, dns: servers }
}

export function parsePubkey(v: string, bad: Bad): PubkeySetting {
  // Checked before the path form: a base64 key may start with "/", a path never ends with "=".
  if (RAW_KEY.test(v)) {
    if (Buffer.from(v, 'base64').length !== 32) throw bad('the raw key must be 32 bytes')
    return { kind: 'raw', base64: v }
  }
  if (!v.startsWith('/') || v.includes('"') || v.split('/').includes('..')) {
    throw bad('expected the base64 of a raw 32-byte ed25519 key, or an absolute path to a PEM file')
  }
  return { kind: 'file', path: v }
}

/**
 * Validates one known key's value into `p` (undefined: the key was given
 * alone, as a flag). `bad` builds the error, so config files and command
 * flags share these rules with their own error codes.
 */
export function parseParam(p: Partial<CmdlineParams>, k: Key, v: string | undefined, bad: Bad): void {
  if (k === 'debug') {
    if (v === undefined || v === '1') p.debug = true
    else if (v === '0') p.debug = false
    else throw bad('expected 1 or 0 (or the key alone)')
    return
  }
  if (v === undefined || v === '') throw bad('needs a value: key=value')
  switch (k) {
    case 'server':
    case 'monitor':
      p[k] = checkHttpUrl(v, bad)
      return
    case 'image':
      try {
        parseRef(v, 'image')
      } catch (e) {
        throw bad((e as Error).message)
      }
      p.image = v
      return
    case 'hostname': {
      const h = normalizeHostname(v)
      if (h === undefined) throw bad(`${JSON.stringify(v)} is not an RFC 1123 host name`)
      p.hostname = h
      return
    }
    case 'post':
      if (!(POST_ACTIONS as readonly string[]).includes(v)) {
        throw bad(`${JSON.stringify(v)}: expected one of ${POST_ACTIONS.join(', ')}`)
      }
      p.post = v as PostAction
      return
    case 'pubkey':
      p.pubkey = parsePubkey(v, bad)
      return
    case 'ip':
      p.ip = parseIp(v, bad)
      return
    case 'disk':
      if (!DISK.test(v) || v.split('/').includes('..') || v.split('/').includes('.')) {
        throw bad(`${JSON.stringify(v)} is not a device path under /dev/`)
      }
      p.disk = v
      return
    case 'ca':
      if (!v.startsWith('/') || v.includes('"') || v.split('/').includes('..')) {
        throw bad('expected the absolute path of a PEM file in the boot image, e.g. /etc/imgswarm/ca.pem')
      }
      p.ca = v
      return
    case 'mac': {
      const m = normalizeMac(v)
      if (m === undefined) throw bad(`${JSON.stringify(v)} is not a MAC address`)
      p.mac = m
      return
    }
  }
}

/**
 * Splits a command line the way the kernel's next_arg() does: whitespace
 * separates, double quotes group (and are dropped at the start of the
 * parameter or of its value and at its end), and `--` ends the kernel's
 * parameters (the rest belongs to init).
 */
export function tokenize(text: string): Array<{ key: string; value: string | undefined }> {
  const out: Array<{ key: string; value: string | undefined }> = []
  let i = 0
  while (i < text.length) {
    while (i < text.length && WS.test(text[i] as string)) i++
    if (i >= text.length) break
    let inQuote = false
    const start = i
    for (; i < text.length; i++) {
      const c = text[i] as string
      if (c === '"') inQuote = !inQuote
      else if (!inQuote && WS.test(c)) break
    }
    let tok = text.slice(start, i)
    if (tok === '--') break
    if (tok.startsWith('"')) tok = tok.slice(1).replace(/"$/, '')
    const eq = tok.indexOf('=')
    if (eq < 0) out.push({ key: tok, value: undefined })
    else {
      let value = tok.slice(eq + 1)
      if (value.startsWith('"')) value = value.slice(1).replace(/"$/, '')
      out.push({ key: tok.slice(0, eq), value })
    }
  }
  return out
}

/** Parses /proc/cmdline: only imgswarm.* keys; the last of repeated keys wins, as in the kernel. */
export function parseCmdline(text: string): CmdlineParams {
  if (typeof text !== 'string') throw errors.cmdline('(line)', 'not text')
  if (text.length > MAX_CMDLINE) throw errors.cmdline('(line)', `longer than ${MAX_CMDLINE} characters`)
  const p: CmdlineParams = { warnings: [] }
  const seen = new Set<string>()
  for (const { key, value } of tokenize(text)) {
    if (!key.startsWith(PREFIX)) continue
    const shown = JSON.stringify(key.slice(0, 80))
    if (CONTROL.test(key) || (value !== undefined && CONTROL.test(value))) {
      throw errors.cmdline(shown, 'contains control characters')
    }
    if (value !== undefined && value.length > MAX_VALUE) {
      throw errors.cmdline(shown, `value longer than ${MAX_VALUE} characters`)
    }
    const name = key.slice(PREFIX.length) as Key
    if (INIT_KEYS.includes(name)) continue
    if (!(CMDLINE_KEYS as readonly string[]).includes(name)) {
      p.warnings.push(`unknown kernel parameter ${shown} ignored (see docs/kernel-parameters.md)`)
      continue
    }
    if (seen.has(name)) p.warnings.push(`${key} given more than once: the last one wins`)
    seen.add(name)
    parseParam(p, name, value, (detail) => errors.cmdline(key, detail))
  }
  return p
}

function formatValue(k: Key, p: CmdlineParams): string | undefined {
  switch (k) {
    case 'debug':
      return p.debug === undefined ? undefined : p.debug ? '1' : '0'
    case 'pubkey':
      return p.pubkey === undefined ? undefined : p.pubkey.kind === 'raw' ? p.pubkey.base64 : p.pubkey.path
    case 'ip': {
      const ip = p.ip
      if (ip === undefined) return undefined
      if (ip.mode === 'dhcp') return 'dhcp'
      return [`${ip.address}/${ip.prefix}`, ip.gateway, ...ip.dns].join(',')
    }
    default:
      return p[k]
  }
}

/** The inverse of parseCmdline (warnings aside): for boot-entry generators and round-trip tests. */
export function formatCmdline(p: CmdlineParams): string {
  const parts: string[] = []
  for (const k of CMDLINE_KEYS) {
    const v = formatValue(k, p)
    if (v === undefined) continue
    parts.push(/\s/.test(v) ? `${PREFIX}${k}="${v}"` : `${PREFIX}${k}=${v}`)
  }
  return parts.join(' ')
}
