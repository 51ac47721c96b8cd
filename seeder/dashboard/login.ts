// POST /api/v1/login ({token} or {password}), POST /api/v1/logout and
// GET /api/v1/session: the dashboard's way to the admin rights.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { errors } from '../../common/errors.ts'
import type { ApiContext } from '../api/context.ts'
import { errorResponses } from '../api/http-errors.ts'
import { LoginLimiter, sessionClearCookie, sessionCookie, sessionSetCookie } from '../api/session.ts'
import { PASSWORD_MAX, readPasswordHash, verifyPassword } from './password.ts'

const loginBody = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  maxProperties: 1,
  properties: {
    token: { type: 'string', minLength: 1, maxLength: 1024, description: 'the admin token' },
    password: {
      type: 'string',
      minLength: 1,
      maxLength: PASSWORD_MAX,
      description: 'the password set with imgswarm dashboard password',
    },
  },
} as const

const sessionReply = {
  type: 'object',
  required: ['ok', 'authenticated'],
  properties: {
    ok: { type: 'boolean' },
    authenticated: { type: 'boolean' },
    via: { type: ['string', 'null'], enum: ['token', 'password', 'bearer', null] },
    expiresAt: { type: ['string', 'null'], format: 'date-time' },
    passwordSet: { type: 'boolean' },
  },
} as const

/** TLS to us, or (with trustProxy) to the proxy in front: then the cookie is Secure. */
const secure = (req: FastifyRequest) => req.protocol === 'https'

export interface LoginInit {
  /** Failed logins per source address before it is refused for the window. Default 5 in 15 min. */
  limiter?: LoginLimiter
}

export function registerLogin(app: FastifyInstance, ctx: ApiContext, init: LoginInit = {}): void {
  const limiter = init.limiter ?? new LoginLimiter()
  const sessions = ctx.auth.sessions

  app.post<{ Body: { token?: string; password?: string } }>(
    '/api/v1/login',
    {
      schema: {
        summary: 'Log in to the dashboard with the admin token or the dashboard password; sets the session cookie',
        tags: ['dashboard'],
        body: loginBody,
        response: { 200: sessionReply, ...errorResponses(400, 401, 429) },
      },
    },
    async (req, reply: FastifyReply) => {
      const ip = req.ip
      const wait = limiter.retryAfter(ip)
      if (wait > 0) {
        reply.header('retry-after', String(wait))
        throw errors.rateLimited(wait)
      }
      let via: 'token' | 'password' | undefined
      if (req.body.token !== undefined) {
        if (ctx.auth.isToken(req.body.token)) via = 'token'
      } else if (req.body.password !== undefined) {
        const hash = await readPasswordHash(ctx.store.root)
        if (hash !== undefined && (await verifyPassword(req.body.password, hash))) via = 'password'
        else if (hash === undefined) {
          limiter.fail(ip)
          throw errors.loginRefused(
            'no dashboard password is set on this server (imgswarm dashboard password sets one)',
          )
        }
      }
      if (via === undefined) {
        limiter.fail(ip)
        req.log.warn({ ip }, 'dashboard login refused')
        throw errors.loginRefused(req.body.token !== undefined ? 'wrong token' : 'wrong password')
      }
      limiter.succeed(ip)
      // A fresh id on every login: a cookie planted before login is never promoted.
      sessions.delete(sessionCookie(req))
      const { id, session } = sessions.create(via)
      reply.header('set-cookie', sessionSetCookie(id, Math.floor(sessions.ttlMs / 1000), secure(req)))
      reply.header('cache-control', 'no-store')
      req.log.info({ ip, via }, 'dashboard login')
      return { ok: true, authenticated: true, via, expiresAt: new Date(session.expiresAt).toISOString() }
    },
  )

  app.post(
    '/api/v1/logout',
    {
      schema: {
        summary: 'End the dashboard session and clear its cookie',
        tags: ['dashboard'],
        response: { 200: sessionReply },
      },
    },
    async (req, reply) => {
      sessions.delete(sessionCookie(req))
      reply.header('set-cookie', sessionClearCookie(secure(req)))
      reply.header('cache-control', 'no-store')
      return { ok: true, authenticated: false, via: null, expiresAt: null }
    },
  )

  app.get(
    '/api/v1/session',
    {
      schema: {
        summary: 'Whether this request is logged in (cookie or bearer token), and whether a dashboard password is set',
        tags: ['dashboard'],
        response: { 200: sessionReply },
      },
    },
    async (req, reply) => {
      reply.header('cache-control', 'no-store')
      const passwordSet = (await readPasswordHash(ctx.store.root).catch(() => undefined)) !== undefined
      if (ctx.auth.checkBearer(req))
        return { ok: true, authenticated: true, via: 'bearer', expiresAt: null, passwordSet }
      const s = ctx.auth.session(req)
      if (!s) return { ok: true, authenticated: false, via: null, expiresAt: null, passwordSet }
      return { ok: true, authenticated: true, via: s.via, expiresAt: new Date(s.expiresAt).toISOString(), passwordSet }
    },
  )
}
