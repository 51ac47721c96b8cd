// Health, seeder status, plan reload, the tracker mount and the OpenAPI document.

import { access, constants } from 'node:fs/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { FastifyInstance } from 'fastify'
import { errors } from '../../common/errors.ts'
import type { ApiContext } from './context.ts'
import { errorResponses } from './http-errors.ts'
import { ADMIN } from './schemas.ts'

export interface SeederStatus {
  ready(): boolean
  status(): unknown
  refresh?(): Promise<void>
}

export interface TrackerMount {
  handleHttp(req: IncomingMessage, res: ServerResponse): boolean
}

export const TRACKER_PATHS = ['/announce', '/scrape', '/stats', '/metrics'] as const

const readySchema = {
  type: 'object',
  required: ['ready', 'store', 'seeder', 'problems'],
  properties: {
    ready: { type: 'boolean' },
    store: { type: 'boolean' },
    seeder: { type: 'boolean' },
    problems: { type: 'array', items: { type: 'string' } },
  },
} as const

export function registerServerRoutes(
  app: FastifyInstance,
  ctx: ApiContext,
  opts: { seeder?: SeederStatus | undefined; tracker?: TrackerMount | undefined },
): void {
  const admin = { onRequest: ctx.auth.require }
  app.get(
    '/api/v1/health',
    {
      schema: {
        summary: 'Liveness',
        tags: ['server'],
        response: {
          200: { type: 'object', required: ['status'], properties: { status: { type: 'string', const: 'ok' } } },
        },
      },
    },
    async () => ({ status: 'ok' as const }),
  )

  app.get(
    '/api/v1/health/ready',
    {
      schema: {
        summary: 'Readiness: the store is readable and the seeder is ready',
        tags: ['server'],
        response: { 200: readySchema, 503: readySchema },
      },
    },
    async (_req, reply) => {
      const problems: string[] = []
      let store = true
      try {
        await access(ctx.store.root, constants.R_OK | constants.X_OK)
      } catch (e) {
        store = false
        problems.push(`store ${ctx.store.root}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`)
      }
      let seeder = true
      try {
        seeder = opts.seeder ? opts.seeder.ready() : true
      } catch {
        seeder = false
      }
      if (!seeder) problems.push('seeder not ready')
      const ready = store && seeder
      return reply.code(ready ? 200 : 503).send({ ready, store, seeder, problems })
    },
  )

  app.get(
    '/api/v1/seeder',
    {
      ...admin,
      schema: {
        summary: 'First seeder status',
        tags: ['server'],
        security: ADMIN,
        response: {
          200: { type: 'object', required: ['ready'], properties: { ready: { type: 'boolean' }, status: {} } },
          ...errorResponses(401, 501),
        },
      },
    },
    async () => {
      if (!opts.seeder) throw errors.notSupported('the seeder')
      return { ready: opts.seeder.ready(), status: opts.seeder.status() }
    },
  )

  app.post(
    '/api/v1/seeder/refresh',
    {
      ...admin,
      schema: {
        summary: 'Make the seeder pick up newly packed versions now',
        tags: ['server'],
        security: ADMIN,
        response: {
          200: { type: 'object', required: ['refreshed'], properties: { refreshed: { type: 'boolean' } } },
          ...errorResponses(401, 501),
        },
      },
    },
    async () => {
      if (!opts.seeder?.refresh) throw errors.notSupported('seeder refresh')
      await opts.seeder.refresh()
      return { refreshed: true }
    },
  )

  app.post(
    '/api/v1/plans/reload',
    {
      ...admin,
      schema: {
        summary: 'Re-read the plans file (on error the old plans stay in force)',
        tags: ['plans'],
        security: ADMIN,
        response: {
          200: { type: 'object', required: ['reloaded'], properties: { reloaded: { type: 'boolean' } } },
          ...errorResponses(401, 422, 501),
        },
      },
    },
    async () => {
      if (!ctx.plans.reload) throw errors.notSupported('reloading plans')
      await ctx.plans.reload()
      ctx.catalog.invalidate()
      return { reloaded: true }
    },
  )

  if (opts.tracker) {
    const tracker = opts.tracker
    for (const url of TRACKER_PATHS) {
      app.get(
        url,
        { exposeHeadRoute: false, schema: { summary: `Tracker: ${url}`, tags: ['tracker'], hide: true } },
        (req, reply) => {
          reply.hijack()
          let handled = false
          try {
            handled = tracker.handleHttp(req.raw, reply.raw)
          } catch (e) {
            req.log.error({ err: e }, 'tracker handler failed')
          }
          if (!handled && !reply.raw.headersSent) {
            reply.raw.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n')
          }
        },
      )
    }
  }
}
