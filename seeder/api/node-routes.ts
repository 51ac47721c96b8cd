// What installing nodes call: their plan, and their progress events.
import type { FastifyInstance } from 'fastify'
import { normalizeIp } from '../plans/index.ts'
import type { ApiContext } from './context.ts'
import { type NodeEvent, type NodeEventInput, nodeEventInputSchema, nodeEventSchema } from './events.ts'
import { errorResponses } from './http-errors.ts'
import { type PlanRouteInit, registerPlanRoute } from './plan-route.ts'
import { type RateLimitInit, rateLimitHooks } from './ratelimit.ts'
import { ADMIN } from './schemas.ts'

type EventsReq = { Querystring: { node?: string; limit: number } }

export interface NodeRoutesInit {
  /** Per-source rate limits of the plan and events routes (defaults: DEFAULT_RATE_LIMITS, loopback exempt). */
  rateLimit?: RateLimitInit
  plan?: Omit<PlanRouteInit, 'rateLimit'>
}

export function registerNodeRoutes(app: FastifyInstance, ctx: ApiContext, opts: NodeRoutesInit = {}): void {
  const limits = rateLimitHooks(opts.rateLimit)
  registerPlanRoute(app, ctx, { ...opts.plan, rateLimit: limits.plan })

  app.post<{ Body: NodeEventInput }>(
    '/api/v1/events',
    {
      ...(limits.events ? { onRequest: limits.events } : {}),
      schema: {
        summary: 'A node reports progress or failure',
        description: 'Node-facing, no token.',
        tags: ['nodes'],
        body: nodeEventInputSchema,
        response: {
          202: { type: 'object', required: ['accepted'], properties: { accepted: { type: 'boolean' } } },
          ...errorResponses(400, 413, 429),
        },
      },
    },
    async (req, reply) => {
      const e: NodeEvent = { ...req.body, receivedAt: new Date().toISOString(), ip: normalizeIp(req.ip) ?? req.ip }
      await ctx.events.add(e)
      return reply.code(202).send({ accepted: true })
    },
  )

  app.get<EventsReq>(
    '/api/v1/events',
    {
      onRequest: ctx.auth.require,
      schema: {
        summary: 'Recent node events, oldest first',
        tags: ['nodes'],
        security: ADMIN,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            node: { type: 'string', maxLength: 253, description: 'only this node (as it reports itself)' },
            limit: { type: 'integer', minimum: 1, maximum: 10000, default: 100 },
          },
        },
        response: {
          200: {
            type: 'object',
            required: ['events'],
            properties: { events: { type: 'array', items: nodeEventSchema } },
          },
          ...errorResponses(400, 401),
        },
      },
    },
    async (req) => ({ events: ctx.events.recent(req.query.limit, req.query.node) }),
  )
}
