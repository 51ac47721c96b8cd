// What installing nodes call: their plan, and their progress events.
import type { FastifyInstance } from 'fastify'
import { errors } from '../../common/errors.ts'
import { installPlanSchema, normalizeHostname, normalizeIp, normalizeMac, resolvePlan } from '../plans/index.ts'
import { type ApiContext, grant } from './context.ts'
import { type NodeEvent, type NodeEventInput, nodeEventInputSchema, nodeEventSchema } from './events.ts'
import { errorResponses } from './http-errors.ts'
import { ADMIN } from './schemas.ts'

type PlanReq = { Querystring: { mac?: string; hostname?: string; ip?: string } }
type EventsReq = { Querystring: { node?: string; limit: number } }

export function registerNodeRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get<PlanReq>(
    '/api/v1/plan',
    {
      schema: {
        summary: 'The install plan of the calling node',
        description:
          'Matched by mac, then hostname, then ip; without ip the request source address is used. Node-facing, no token.',
        tags: ['nodes'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            mac: { type: 'string', maxLength: 17, description: 'MAC address (any case; colons, dashes or none)' },
            hostname: { type: 'string', maxLength: 253 },
            ip: { type: 'string', maxLength: 45 },
          },
        },
        response: { 200: installPlanSchema, ...errorResponses(400, 404, 409) },
      },
    },
    async (req) => {
      const q = req.query
      if (q.mac !== undefined && normalizeMac(q.mac) === undefined) {
        throw errors.invalidRequest(`querystring.mac: ${JSON.stringify(q.mac)} is not a MAC address`)
      }
      if (q.hostname !== undefined && normalizeHostname(q.hostname) === undefined) {
        throw errors.invalidRequest(`querystring.hostname: ${JSON.stringify(q.hostname)} is not a valid host name`)
      }
      if (q.ip !== undefined && normalizeIp(q.ip) === undefined) {
        throw errors.invalidRequest(`querystring.ip: ${JSON.stringify(q.ip)} is not an IP address`)
      }
      const ip = q.ip ?? req.ip
      // The fleet database records an unknown MAC as discovered, and names the group a node was adopted into.
      const seen = ctx.fleet?.planRequested({ mac: q.mac, hostname: q.hostname, ip })
      const groups = seen && seen.groups.length > 0 ? { groups: seen.groups } : {}
      const spec = ctx.plans.planFor({ mac: q.mac, hostname: q.hostname, ip, ...groups })
      if (!spec) {
        const who = [
          q.mac && `mac ${normalizeMac(q.mac)}`,
          q.hostname && `hostname ${q.hostname}`,
          `ip ${normalizeIp(ip) ?? ip}`,
        ]
          .filter(Boolean)
          .join(', ')
        throw errors.notFound(
          'install plan',
          `for ${who}`,
          ctx.plans.unknownNodeHint ??
            `add a [[node]] with this mac, hostname or ip to ${ctx.plansOrigin}, then reload the plans (POST /api/v1/plans/reload)`,
        )
      }
      const plan = await resolvePlan(ctx.catalog, spec, ctx.plansOrigin)
      grant(ctx, 'image', plan.image.name, plan.image.version)
      for (const o of plan.overrides) grant(ctx, 'override', o.name, o.version)
      ctx.fleet?.planServed(
        { mac: q.mac, hostname: q.hostname, ip },
        `${plan.image.name}@${plan.image.version}`,
        plan.node.hostname,
      )
      return plan
    },
  )

  app.post<{ Body: NodeEventInput }>(
    '/api/v1/events',
    {
      schema: {
        summary: 'A node reports progress or failure',
        description: 'Node-facing, no token.',
        tags: ['nodes'],
        body: nodeEventInputSchema,
        response: {
          202: { type: 'object', required: ['accepted'], properties: { accepted: { type: 'boolean' } } },
          ...errorResponses(400, 413),
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
