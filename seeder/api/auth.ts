// The admin bearer token: made on the server's first start, kept in
// STORE/keys/admin.token (0600), compared in constant time.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import { link, mkdir, readFile, stat, unlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { FastifyRequest } from 'fastify'
import { errors } from '../../common/errors.ts'
import { type Session, SessionStore, sessionCookie } from './session.ts'

export const ADMIN_TOKEN_FILE = 'admin.token'
const MIN_TOKEN = 16

async function readToken(file: string): Promise<string | undefined> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw e
  }
  const st = await stat(file)
  if ((st.mode & 0o077) !== 0) {
    throw errors.config(
      file,
      `other users can read the admin token (mode ${(st.mode & 0o777).toString(8)}); chmod 600 it`,
    )
  }
  const token = text.trim()
  if (token.length < MIN_TOKEN || /\s/.test(token)) {
    throw errors.config(file, `the admin token must be at least ${MIN_TOKEN} characters without spaces`)
  }
  return token
}

/** Reads STORE/keys/admin.token, creating it (32 random bytes, base64url, mode 0600) on first use. */
export async function loadOrCreateAdminToken(storeRoot: string): Promise<string> {
  const dir = join(storeRoot, 'keys')
  const file = join(dir, ADMIN_TOKEN_FILE)
  const existing = await readToken(file)
  if (existing !== undefined) return existing
  await mkdir(dir, { recursive: true, mode: 0o700 })
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
  await writeFile(tmp, `${randomBytes(32).toString('base64url')}\n`, { mode: 0o600, flag: 'wx' })
  try {
    // link() fails if the file exists: two servers starting at once agree on one token.
    await link(tmp, file)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e
  } finally {
    await unlink(tmp)
  }
  return (await readToken(file)) as string
}

/** Reads STORE/keys/admin.token without creating it; undefined when it is missing or not readable by this user. */
export async function readAdminToken(storeRoot: string): Promise<string | undefined> {
  try {
    return await readToken(join(storeRoot, 'keys', ADMIN_TOKEN_FILE))
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EACCES') return undefined
    throw e
  }
}

export class AdminAuth {
  readonly #digest: Buffer
  /** Dashboard sessions (POST /api/v1/login makes them); their cookie counts as the token. */
  readonly sessions: SessionStore

  constructor(token: string, sessions: SessionStore = new SessionStore()) {
    if (token.length < MIN_TOKEN) throw errors.usage(`the admin token must be at least ${MIN_TOKEN} characters`)
    this.#digest = createHash('sha256').update(token).digest()
    this.sessions = sessions
  }

  /** True when `token` is the admin token (constant time). */
  isToken(token: string): boolean {
    // Comparing digests keeps the comparison constant-time whatever the length.
    return timingSafeEqual(createHash('sha256').update(token).digest(), this.#digest)
  }

  /** True when the request carries the right `Authorization: Bearer` token. */
  checkBearer(req: FastifyRequest): boolean {
    const h = req.headers.authorization
    if (typeof h !== 'string') return false
    const m = /^Bearer[ \t]+([^\s]+)[ \t]*$/i.exec(h)
    if (!m) return false
    return this.isToken(m[1] as string)
  }

  /** The live dashboard session of the request's cookie, if any. */
  session(req: FastifyRequest): Session | undefined {
    return this.sessions.get(sessionCookie(req))
  }

  /** True when the request carries the right bearer token or a live session cookie. */
  check(req: FastifyRequest): boolean {
    return this.checkBearer(req) || this.session(req) !== undefined
  }

  /**
   * A preHandler that refuses requests without the token or a session. A
   * state-changing request on a session must also be one a cross-site page
   * cannot send without a CORS preflight (which this server never grants):
   * a JSON body, or the x-imgswarm-request header. SameSite=Strict is the
   * first line; this is the second.
   */
  require = async (req: FastifyRequest): Promise<void> => {
    if (this.checkBearer(req)) return
    if (this.session(req) !== undefined) {
      if (!SAFE_METHODS.has(req.method)) csrfCheck(req)
      return
    }
    if (req.headers.authorization === undefined && sessionCookie(req) === undefined) {
      throw errors.unauthorized('missing')
    }
    throw errors.unauthorized('not accepted')
  }
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])

function csrfCheck(req: FastifyRequest): void {
  const type = String(req.headers['content-type'] ?? '')
    .split(';')[0]
    ?.trim()
    .toLowerCase()
  if (type !== 'application/json' && req.headers['x-imgswarm-request'] === undefined) {
    throw errors.csrf('a dashboard session may change state only with a JSON body or the x-imgswarm-request header')
  }
  // A browser names the page that sent the request; it must be this server.
  const origin = req.headers.origin
  if (typeof origin === 'string' && origin !== 'null') {
    let host: string
    try {
      host = new URL(origin).host
    } catch {
      throw errors.csrf(`unreadable Origin ${JSON.stringify(origin.slice(0, 100))}`)
    }
    if (host !== hostOf(origin, req.headers.host)) throw errors.csrf(`cross-site request from ${origin.slice(0, 200)}`)
  } else if (origin === 'null') {
    throw errors.csrf('request from an opaque origin')
  }
}

/** The Host header as URL would write it beside this origin's scheme (default ports dropped). */
function hostOf(origin: string, host: string | undefined): string | undefined {
  if (host === undefined) return undefined
  try {
    return new URL(`${new URL(origin).protocol}//${host}`).host
  } catch {
    return undefined
  }
}
