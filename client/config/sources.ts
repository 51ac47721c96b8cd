// Reading the client's config sources into one flat shape: the optional TOML
// file, and the pinned key (PEM file or raw base64), whichever source named it.
import { createPublicKey, type KeyObject } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { dirname, isAbsolute, resolve } from 'node:path'
import { parse as parseToml } from 'smol-toml'
import { type CmdlineKey, type CmdlineParams, parseParam } from '../../common/cmdline.ts'
import { errors } from '../../common/errors.ts'
import { loadCa } from '../../common/https.ts'

/** What one source (file, command line) contributes, before merging. */
export interface Layer extends Partial<Omit<CmdlineParams, 'warnings' | 'pubkey' | 'ca'>> {
  pubkey?: KeyObject
  /** The pinned CA's PEM text (read from the file a source named). */
  caPem?: string
  targetDir?: string
  attempts?: number
  maxDelayMs?: number
}

const FILE_KEYS: Record<string, CmdlineKey> = {
  server: 'server',
  image: 'image',
  hostname: 'hostname',
  mac: 'mac',
  ip: 'ip',
  post: 'post',
  disk: 'disk',
  monitor: 'monitor',
}
const RAW_KEY = /^[A-Za-z0-9+/]{43}=$/

/**
 * The pinned key from the base64 of its 32 raw bytes, or from a PEM (SPKI)
 * file. Only ed25519: the manifest signature format allows nothing else.
 */
export function loadPubkey(v: string, where: string): KeyObject {
  let key: KeyObject
  if (RAW_KEY.test(v)) {
    const raw = Buffer.from(v, 'base64')
    if (raw.length !== 32) throw errors.config(where, 'pubkey: the raw key must be 32 bytes')
    key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' })
  } else {
    let pem: string
    try {
      pem = readFileSync(v, 'utf8')
    } catch (e) {
      throw errors.config(where, `pubkey: cannot read ${v} (${(e as NodeJS.ErrnoException).code ?? 'error'})`)
    }
    try {
      key = createPublicKey(pem)
    } catch (e) {
      throw errors.config(where, `pubkey: ${v} is not a PEM public key (${(e as Error).message})`)
    }
  }
  if (key.asymmetricKeyType !== 'ed25519') throw errors.config(where, 'pubkey: the key must be ed25519')
  return key
}

function int(file: string, v: unknown, key: string, min: number, max: number): number | undefined {
  if (v === undefined) return undefined
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw errors.config(file, `${key} must be an integer from ${min} to ${max}`)
  }
  return v
}

/** Reads the client's TOML file strictly: unknown keys are refused, so a typo never silently falls back. */
export function readConfigFile(file: string): Layer {
  let doc: Record<string, unknown>
  try {
    doc = parseToml(readFileSync(file, 'utf8')) as Record<string, unknown>
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    throw errors.config(
      file,
      code ? `cannot read it (${code})` : ((e as Error).message.split('\n')[0] ?? 'invalid TOML'),
    )
  }
  const layer: Layer = {}
  const parsed: Partial<CmdlineParams> = {}
  const bad = (key: string) => (detail: string) => errors.config(file, `${key}: ${detail}`)
  for (const [k, v] of Object.entries(doc)) {
    const known = FILE_KEYS[k]
    if (known !== undefined) {
      if (typeof v !== 'string') throw errors.config(file, `${k} must be a string`)
      parseParam(parsed, known, v, bad(k))
    } else if (k === 'debug') {
      if (typeof v !== 'boolean') throw errors.config(file, 'debug must be true or false')
      layer.debug = v
    } else if (k === 'target_dir') {
      if (typeof v !== 'string' || !isAbsolute(v)) throw errors.config(file, 'target_dir must be an absolute path')
      layer.targetDir = v
    } else if (k === 'pubkey') {
      if (typeof v !== 'string' || v === '') throw errors.config(file, 'pubkey must be a string')
      // A relative key path is relative to the config file, not to wherever the client was started.
      layer.pubkey = loadPubkey(RAW_KEY.test(v) ? v : resolve(dirname(file), v), file)
    } else if (k === 'ca') {
      if (typeof v !== 'string' || v === '') throw errors.config(file, 'ca must be the path of a PEM file')
      layer.caPem = loadCa(resolve(dirname(file), v), file)
    } else if (k === 'retry') {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) throw errors.config(file, '[retry] must be a table')
      for (const rk of Object.keys(v)) {
        if (rk !== 'attempts' && rk !== 'max_delay_ms') throw errors.config(file, `retry.${rk}: unknown key`)
      }
      const r = v as Record<string, unknown>
      const attempts = int(file, r.attempts, 'retry.attempts', 1, 1_000_000)
      const maxDelayMs = int(file, r.max_delay_ms, 'retry.max_delay_ms', 10, 3_600_000)
      if (attempts !== undefined) layer.attempts = attempts
      if (maxDelayMs !== undefined) layer.maxDelayMs = maxDelayMs
    } else {
      throw errors.config(file, `${k}: unknown key (see docs/client.md)`)
    }
  }
  const { pubkey: _, warnings: __, ca: ___, ...values } = parsed
  Object.assign(layer, values)
  if (layer.disk !== undefined && layer.targetDir !== undefined) {
    throw errors.config(file, 'disk and target_dir exclude each other: install to a disk, or into a directory')
  }
  return layer
}
