// The detached signature of an install plan (docs/plan-signing.md). The plan
// body stays the v1 JSON; the server's ed25519 key signs a small claims
// record that names the body's SHA-256, the node it was issued for, the
// client's nonce and a validity window. The signed bytes start with a
// domain-separation prefix, so a manifest signature (over bytes starting
// with "{") can never pass as a plan signature, nor the other way round.
import { createHash, createPublicKey, type KeyObject, sign, verify } from 'node:crypto'
import { normalizeHostname, normalizeMac } from './cmdline.ts'
import { signErrors } from './errors-sign.ts'
import { keyId } from './manifest.ts'
import { plainAddress } from './networks.ts'

/** The response header that carries the signature. */
export const PLAN_SIGNATURE_HEADER = 'x-imgswarm-plan-signature'
/** Prefixed to the claims before signing: what the signature is about, and the format version. */
export const PLAN_SIGNATURE_DOMAIN = 'imgswarm-plan-v1\n'
/** How long a served plan is valid (expiresAt - issuedAt). */
export const PLAN_VALIDITY_MS = 15 * 60 * 1000
/** How far the node's clock may be off before the window check fails. */
export const PLAN_CLOCK_TOLERANCE_MS = 10 * 60 * 1000
/** The nonce a client sends: 16 to 64 URL-safe characters. */
export const NONCE_PATTERN = '^[A-Za-z0-9_-]{16,64}$'
const NONCE = new RegExp(NONCE_PATTERN)
/** A header longer than this is refused before it is decoded. */
const HEADER_LIMIT = 4096
const HEX64 = /^[0-9a-f]{64}$/
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/
const CLAIM_KEYS = ['v', 'alg', 'keyId', 'sha256', 'mac', 'hostname', 'ip', 'nonce', 'issuedAt', 'expiresAt'] as const

export interface PlanClaims {
  v: 1
  alg: 'ed25519'
  keyId: string
  /** SHA-256 (hex) of the exact plan body bytes. */
  sha256: string
  /** The MAC the plan was asked for (normalized), or null when the request named none. */
  mac: string | null
  /** The host name the plan was asked for (normalized), or null. */
  hostname: string | null
  /** The ip the plan was asked for (a static address; normalized), or null when the request named none. */
  ip: string | null
  /** The client's nonce, echoed; null when the request carried none. */
  nonce: string | null
  issuedAt: string
  expiresAt: string
}

export interface PlanRequestIdentity {
  mac?: string | undefined
  hostname?: string | undefined
  ip?: string | undefined
  nonce?: string | undefined
}

export function isNonce(v: string): boolean {
  return NONCE.test(v)
}

/** The identity as it is bound into the claims: normalized, null when absent or invalid. */
export function boundIdentity(q: PlanRequestIdentity): Pick<PlanClaims, 'mac' | 'hostname' | 'ip' | 'nonce'> {
  const mac = q.mac === undefined ? undefined : normalizeMac(q.mac.trim())
  const hostname = q.hostname === undefined ? undefined : normalizeHostname(q.hostname.trim())
  const ip = q.ip === undefined ? undefined : plainAddress(q.ip)
  return {
    mac: mac ?? null,
    hostname: hostname ?? null,
    ip: ip ?? null,
    nonce: q.nonce !== undefined && isNonce(q.nonce) ? q.nonce : null,
  }
}

function b64url(b: Buffer): string {
  return b.toString('base64url')
}

// Deriving the key id costs as much as the signature itself (~75 us each here): once per key.
const KEY_IDS = new WeakMap<KeyObject, string>()
function signingKeyId(privateKey: KeyObject): string {
  let id = KEY_IDS.get(privateKey)
  if (id === undefined) {
    id = keyId(createPublicKey(privateKey))
    KEY_IDS.set(privateKey, id)
  }
  return id
}

/** Signs a plan body for the node that asked for it; returns the header value. */
export function signPlan(body: Buffer, q: PlanRequestIdentity, privateKey: KeyObject, now = Date.now()): string {
  const claims: PlanClaims = {
    v: 1,
    alg: 'ed25519',
    keyId: signingKeyId(privateKey),
    sha256: createHash('sha256').update(body).digest('hex'),
    ...boundIdentity(q),
    issuedAt: new Date(now).toISOString(),
    expiresAt: new Date(now + PLAN_VALIDITY_MS).toISOString(),
  }
  const bytes = Buffer.from(JSON.stringify(claims))
  const sig = sign(null, Buffer.concat([Buffer.from(PLAN_SIGNATURE_DOMAIN), bytes]), privateKey)
  return `${b64url(bytes)}.${b64url(sig)}`
}

function validateClaims(v: unknown, bad: (d: string) => Error): PlanClaims {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad('the signed claims are not a JSON object')
  const c = v as Record<string, unknown>
  for (const k of Object.keys(c)) {
    if (!(CLAIM_KEYS as readonly string[]).includes(k)) throw bad(`unknown claim ${JSON.stringify(k)}`)
  }
  if (c.v !== 1 || c.alg !== 'ed25519') throw bad('unsupported signature version or algorithm')
  if (typeof c.keyId !== 'string' || typeof c.sha256 !== 'string' || !HEX64.test(c.sha256)) {
    throw bad('keyId and sha256 must be set')
  }
  const nullable = (k: 'mac' | 'hostname' | 'ip' | 'nonce') => {
    if (c[k] !== null && (typeof c[k] !== 'string' || (c[k] as string).length > 253)) {
      throw bad(`${k} must be a string or null`)
    }
  }
  nullable('mac')
  nullable('hostname')
  nullable('ip')
  nullable('nonce')
  for (const k of ['issuedAt', 'expiresAt'] as const) {
    if (typeof c[k] !== 'string' || !ISO.test(c[k] as string) || Number.isNaN(Date.parse(c[k] as string))) {
      throw bad(`${k} must be an ISO 8601 UTC time`)
    }
  }
  if (Date.parse(c.expiresAt as string) <= Date.parse(c.issuedAt as string))
    throw bad('expiresAt is not after issuedAt')
  return c as unknown as PlanClaims
}

/** The claims of a header, unverified: only for naming the key in an error message. */
function claimedKeyId(claimsPart: string): string | undefined {
  try {
    const k = (JSON.parse(Buffer.from(claimsPart, 'base64url').toString('utf8')) as { keyId?: unknown }).keyId
    return typeof k === 'string' ? k.slice(0, 32).replace(/[^0-9a-f]/g, '?') : undefined
  } catch {
    return undefined
  }
}

/**
 * Verifies the header against the pinned key and the body bytes, and returns
 * the claims. The signature is checked before the claims are parsed; the
 * body's hash before the body is parsed (by the caller).
 */
export function verifyPlanSignature(body: Buffer, header: string | null | undefined, pub: KeyObject): PlanClaims {
  const bad = (d: string) => signErrors.planSignature(d)
  if (header === null || header === undefined || header === '') {
    throw bad('the server sent the plan unsigned (no X-Imgswarm-Plan-Signature header)')
  }
  if (header.length > HEADER_LIMIT) throw bad(`the signature header is longer than ${HEADER_LIMIT} bytes`)
  const parts = header.trim().split('.')
  if (parts.length !== 2 || !/^[A-Za-z0-9_-]+$/.test(parts[0] ?? '') || !/^[A-Za-z0-9_-]+$/.test(parts[1] ?? '')) {
    throw bad('the signature header is not CLAIMS.SIGNATURE in base64url')
  }
  const [claimsPart, sigPart] = parts as [string, string]
  const bytes = Buffer.from(claimsPart, 'base64url')
  const sig = Buffer.from(sigPart, 'base64url')
  const signed = Buffer.concat([Buffer.from(PLAN_SIGNATURE_DOMAIN), bytes])
  if (sig.length !== 64 || !verify(null, signed, pub, sig)) {
    const claimed = claimedKeyId(claimsPart)
    const pinned = keyId(pub)
    throw bad(
      claimed !== undefined && claimed !== pinned
        ? `it claims key ${claimed}, the pinned key is ${pinned}, and the signature does not verify with the pinned key`
        : 'the signature does not verify with the pinned key',
    )
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(bytes.toString('utf8'))
  } catch {
    throw bad('the signed claims are not valid JSON')
  }
  const claims = validateClaims(parsed, bad)
  const sha256 = createHash('sha256').update(body).digest('hex')
  if (sha256 !== claims.sha256) throw bad('the plan body was changed after it was signed (its SHA-256 differs)')
  return claims
}
