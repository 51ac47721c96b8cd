// Enrol tokens (docs/agent.md, "Enrolment"): stateless, so that serving a
// plan costs no database write (plan fetches are the hot path, bench/load).
// A token is the base64url of its claims and their HMAC-SHA256 under the
// fleet database's enrol secret:
//   v1.CLAIMS.MAC   CLAIMS = {"n":node pk,"m":MAC|null,"h":host|null,"a":address,"i":NAME@VER,"t":issued ms,"e":expiry ms}
// "Once" is kept by the credential: it records the issue time of the token it
// was enrolled with, and a token issued at or before that time is refused.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import type { DatabaseSync } from 'node:sqlite'
import { sql } from './nodes.ts'

export interface TokenClaims {
  /** The node's row. */
  n: number
  m: string | null
  h: string | null
  /** The address the plan was served to. */
  a: string
  /** The plan's image, NAME@VER. */
  i: string
  t: number
  e: number
}

/** Longest token we read: far above any real one (claims of a 253-character host name). */
export const TOKEN_MAX = 1024
export const TOKEN_PATTERN = '^v1\\.[A-Za-z0-9_-]{1,900}\\.[A-Za-z0-9_-]{43}$'

function secretOf(db: DatabaseSync): Buffer {
  const have = sql(db, 'SELECT secret FROM enrol_secret WHERE id = 1').get() as { secret: string } | undefined
  if (have) return Buffer.from(have.secret, 'base64')
  const made = randomBytes(32).toString('base64')
  sql(db, 'INSERT OR IGNORE INTO enrol_secret (id, secret) VALUES (1, ?)').run(made)
  return secretOf(db)
}

export function mintToken(db: DatabaseSync, c: TokenClaims): string {
  const body = Buffer.from(JSON.stringify(c)).toString('base64url')
  const mac = createHmac('sha256', secretOf(db)).update(`v1.${body}`).digest('base64url')
  return `v1.${body}.${mac}`
}

/** The claims of a token this database minted; undefined for anything else. */
export function readToken(db: DatabaseSync, token: string): TokenClaims | undefined {
  if (token.length > TOKEN_MAX || !new RegExp(TOKEN_PATTERN).test(token)) return undefined
  const [, body, mac] = token.split('.') as [string, string, string]
  const want = createHmac('sha256', secretOf(db)).update(`v1.${body}`).digest()
  const got = Buffer.from(mac, 'base64url')
  if (got.length !== want.length || !timingSafeEqual(got, want)) return undefined
  try {
    const c = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as TokenClaims
    if (!Number.isSafeInteger(c.n) || !Number.isSafeInteger(c.t) || !Number.isSafeInteger(c.e)) return undefined
    return c
  } catch {
    return undefined
  }
}
