// The install client's configuration, from four sources with one rule:
// command flags > kernel command line > config file > defaults, field by field.
// Flags win because a person typing them means it now; the kernel command
// line beats the file because it is per boot, the file per boot image.
import type { KeyObject } from 'node:crypto'
import { isAbsolute } from 'node:path'
import { type CmdlineParams, type IpSetting, parseCmdline, parseParam } from '../../common/cmdline.ts'
import { errors } from '../../common/errors.ts'
import { loadCa } from '../../common/https.ts'
import type { PostAction } from '../../common/plan.ts'
import { type Layer, loadPubkey, readConfigFile } from './sources.ts'

export { loadPubkey } from './sources.ts'

export const DEFAULT_MAX_DELAY_MS = 30_000

export interface RetryConfig {
  /** Attempts per request; undefined: retry until the caller's signal aborts. */
  attempts?: number | undefined
  /** Cap of the exponential backoff (it starts at 1 s, or at this cap if lower). */
  maxDelayMs: number
}

export interface ClientConfig {
  /** Image server base URL, without a trailing slash. */
  server: string
  /** `NAME[@VER]`: a pin. The plan must name this image, or the client refuses it. */
  image?: string | undefined
  hostname?: string | undefined
  mac?: string | undefined
  ip?: IpSetting | undefined
  /** Overrides the plan's post-action on this boot. */
  post?: PostAction | undefined
  /** Install to this block device, or (exclusive) into targetDir. */
  disk?: string | undefined
  targetDir?: string | undefined
  monitor?: string | undefined
  /** The pinned manifest-signing key: nothing is installed that it did not sign. */
  pubkey: KeyObject
  /** The pinned CA (PEM): with an https:// server it is the only one trusted (docs/tls.md). */
  ca?: string | undefined
  debug: boolean
  retry: RetryConfig
  /** Unknown or repeated kernel parameters: print them, they are not fatal. */
  warnings: string[]
}

/** Command flags: the config's fields, with the key, IP and strings as typed on a command line. */
export type ClientFlags = Partial<Omit<ClientConfig, 'pubkey' | 'ip' | 'retry' | 'warnings' | 'ca'>> & {
  /** Path of the pinned CA (PEM), as --ca takes it. */
  ca?: string | undefined
  /** A KeyObject, the base64 of the raw key, or a path to a PEM file. */
  pubkey?: KeyObject | string | undefined
  ip?: IpSetting | string | undefined
  retry?: Partial<RetryConfig> | undefined
}

export interface ClientConfigSources {
  flags: ClientFlags
  /** Contents of /proc/cmdline. */
  cmdline?: string | undefined
  /** Path to a TOML config file (docs/client.md); none when undefined. */
  file?: string | undefined
}

const STRING_FLAGS = ['server', 'image', 'hostname', 'mac', 'post', 'disk', 'monitor'] as const

function flagLayer(f: ClientFlags): Layer {
  const bad = (k: string) => (detail: string) => errors.usage(`--${k}: ${detail}`)
  const parsed: Partial<CmdlineParams> = {}
  for (const k of STRING_FLAGS) {
    const v = f[k]
    if (v !== undefined) parseParam(parsed, k, v, bad(k))
  }
  if (typeof f.ip === 'string') parseParam(parsed, 'ip', f.ip, bad('ip'))
  const { warnings: _, pubkey: __, ca: ___, ...values } = parsed
  const layer: Layer = { ...values }
  if (f.ca !== undefined) layer.caPem = loadCa(f.ca, '--ca')
  if (typeof f.ip === 'object') layer.ip = f.ip
  if (f.debug !== undefined) layer.debug = f.debug
  if (f.targetDir !== undefined) {
    if (!isAbsolute(f.targetDir)) throw errors.usage('--target-dir must be an absolute path')
    layer.targetDir = f.targetDir
  }
  if (f.pubkey !== undefined) layer.pubkey = typeof f.pubkey === 'string' ? loadPubkey(f.pubkey, '--pubkey') : f.pubkey
  if (f.retry?.attempts !== undefined) layer.attempts = f.retry.attempts
  if (f.retry?.maxDelayMs !== undefined) layer.maxDelayMs = f.retry.maxDelayMs
  if (layer.disk !== undefined && layer.targetDir !== undefined) {
    throw errors.usage('--disk and --target-dir exclude each other', 'install to a disk, or into a directory')
  }
  return layer
}

function cmdlineLayer(text: string): { layer: Layer; warnings: string[] } {
  const { warnings, pubkey, ca, ...values } = parseCmdline(text)
  const layer: Layer = { ...values }
  if (ca !== undefined) layer.caPem = loadCa(ca, 'imgswarm.ca')
  if (pubkey !== undefined) {
    layer.pubkey = loadPubkey(pubkey.kind === 'raw' ? pubkey.base64 : pubkey.path, 'imgswarm.pubkey')
  }
  return { layer, warnings }
}

/** Merges flags > kernel command line > file > defaults and checks what the client cannot do without. */
export function resolveClientConfig(sources: ClientConfigSources): ClientConfig {
  const fromFlags = flagLayer(sources.flags)
  const fromCmdline = sources.cmdline === undefined ? { layer: {}, warnings: [] } : cmdlineLayer(sources.cmdline)
  const fromFile = sources.file === undefined ? {} : readConfigFile(sources.file)
  const layers: Layer[] = [fromFlags, fromCmdline.layer, fromFile]
  const pick = <K extends keyof Layer>(k: K): Layer[K] => layers.find((l) => l[k] !== undefined)?.[k]

  const server = pick('server')
  if (server === undefined) {
    throw errors.usage(
      'no image server given',
      'pass --server URL, boot with imgswarm.server=http://HOST:8470, or set server in the config file',
    )
  }
  const pubkey = pick('pubkey')
  if (pubkey === undefined) throw errors.pubkeyMissing()
  const ca = pick('caPem')
  if (ca === undefined && /^https:/i.test(server)) throw errors.tlsNoCa(server)
  // Where to install is one choice: the first source that makes it decides both fields.
  const dest = layers.find((l) => l.disk !== undefined || l.targetDir !== undefined)
  const maxDelayMs = pick('maxDelayMs') ?? DEFAULT_MAX_DELAY_MS
  const attempts = pick('attempts')
  if (!Number.isInteger(maxDelayMs) || maxDelayMs < 1) throw errors.usage('retry.maxDelayMs must be a positive integer')
  if (attempts !== undefined && (!Number.isInteger(attempts) || attempts < 1)) {
    throw errors.usage('retry.attempts must be a positive integer')
  }
  return {
    server,
    image: pick('image'),
    hostname: pick('hostname'),
    mac: pick('mac'),
    ip: pick('ip'),
    post: pick('post'),
    disk: dest?.disk,
    targetDir: dest?.targetDir,
    monitor: pick('monitor'),
    pubkey,
    ...(ca === undefined ? {} : { ca }),
    debug: pick('debug') ?? false,
    retry: { attempts, maxDelayMs },
    warnings: fromCmdline.warnings,
  }
}
