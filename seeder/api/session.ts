// Dashboard sessions: random 32-byte ids, kept in memory (a restart logs
// everyone out) as SHA-256 digests with an expiry, carried in the cookie
// imgswarm_session (HttpOnly, SameSite=Strict). Also the per-address limit on
// failed logins.
import { createHash, randomBytes } from 'node:crypto'
import type { FastifyRequest } from 'fastify'

export const SESSION_COOKIE = 'imgswarm_session'
export const SESSION_TTL_MS = 12 * 3600 * 1000
/** More live sessions than this and the oldest are dropped. */
const MAX_SESSIONS = 10_000
const ID_RE = /^[A-Za-z0-9_-]{43}$/

export interface Session {
  via: 'token' | 'password'
  createdAt: number
  expiresAt: number
}

const digest = (id: string) => createHash('sha256').update(id).digest('hex')

/** The session id in the request's Cookie header, if it has a well-formed one. */
export function sessionCookie(req: FastifyRequest): string | undefined {
  const h = req.headers.cookie
  if (typeof h !== 'string' || h.length > 8192) return undefined
  for (const part of h.split(';')) {
    const eq = part.indexOf('=')
    if (eq < 0 || part.slice(0, eq).trim() !== SESSION_COOKIE) continue
    const v = part.slice(eq + 1).trim()
    if (ID_RE.test(v)) return v
  }
  return undefined
}

/** Set-Cookie for a session; Secure when the request came over TLS (directly or, with trustProxy, via a proxy). */
export function sessionSetCookie(id: string, maxAgeSec: number, secure: boolean): string {
  return [
    `${SESSION_COOKIE}=${id}`,
    'Path=/',
    `Max-Age=${maxAgeSec}`,
    'HttpOnly',
    'SameSite=Strict',
    ...(secure ? ['Secure'] : []),
  ].join('; ')
}

export function sessionClearCookie(secure: boolean): string {
  return sessionSetCookie('', 0, secure)
}

export class SessionStore {
  readonly ttlMs: number
  readonly #sessions = new Map<string, Session>()
  readonly #ended = new Set<() => void>()

  constructor(opts: { ttlMs?: number } = {}) {
    this.ttlMs = opts.ttlMs ?? SESSION_TTL_MS
  }

  create(via: Session['via']): { id: string; session: Session } {
    const now = Date.now()
    this.#sweep(now)
    while (this.#sessions.size >= MAX_SESSIONS) {
      const oldest = this.#sessions.keys().next().value as string
      this.#sessions.delete(oldest)
    }
    const id = randomBytes(32).toString('base64url')
    const session: Session = { via, createdAt: now, expiresAt: now + this.ttlMs }
    this.#sessions.set(digest(id), session)
    return { id, session }
  }

  /** The live session of this id; an expired one is removed. */
  get(id: string | undefined): Session | undefined {
    if (id === undefined || !ID_RE.test(id)) return undefined
    const key = digest(id)
    const s = this.#sessions.get(key)
    if (!s) return undefined
    if (s.expiresAt <= Date.now()) {
      this.#sessions.delete(key)
      return undefined
    }
    return s
  }

  delete(id: string | undefined): boolean {
    const gone = id !== undefined && this.#sessions.delete(digest(id))
    if (gone) for (const fn of this.#ended) fn()
    return gone
  }

  /** Calls `fn` each time a session is ended by delete() (a logout); expiry is seen by get(). */
  onEnd(fn: () => void): void {
    this.#ended.add(fn)
  }

  get size(): number {
    return this.#sessions.size
  }

  #sweep(now: number): void {
    for (const [k, s] of this.#sessions) if (s.expiresAt <= now) this.#sessions.delete(k)
  }
}

/**
 * Failed logins per source address: after `maxFailures` within `windowMs`
 * the address is refused (even with the right secret) until the window ends.
 */
export class LoginLimiter {
  readonly #max: number
  readonly #windowMs: number
  readonly #fails = new Map<string, { count: number; since: number }>()

  constructor(opts: { maxFailures?: number; windowMs?: number } = {}) {
    this.#max = opts.maxFailures ?? 5
    this.#windowMs = opts.windowMs ?? 15 * 60 * 1000
  }

  /** Seconds until this address may try again; 0 when it may now. */
  retryAfter(ip: string): number {
    const f = this.#fails.get(ip)
    if (!f) return 0
    const left = f.since + this.#windowMs - Date.now()
    if (left <= 0) {
      this.#fails.delete(ip)
      return 0
    }
    return f.count >= this.#max ? Math.ceil(left / 1000) : 0
  }

  fail(ip: string): void {
    const now = Date.now()
    const f = this.#fails.get(ip)
    if (f && f.since + this.#windowMs > now) f.count++
    else {
      if (this.#fails.size >= 100_000) {
        for (const [k, v] of this.#fails) if (v.since + this.#windowMs <= now) this.#fails.delete(k)
        if (this.#fails.size >= 100_000) this.#fails.delete(this.#fails.keys().next().value as string)
      }
      this.#fails.set(ip, { count: 1, since: now })
    }
  }

  succeed(ip: string): void {
    this.#fails.delete(ip)
  }
}
