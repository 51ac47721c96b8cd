// The fleet HTTP API (docs/api.md, "Fleet"): node lists and details, the
// install history, fleet totals, swarms, the live stream and the operator's
// actions. Everything here needs the admin token or a dashboard session.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { ApiContext } from '../api/context.ts'
import { errorResponses } from '../api/http-errors.ts'
import { ADMIN } from '../api/schemas.ts'
import { sessionCookie } from '../api/session.ts'
import type { Fleet } from './index.ts'
import {
  adoptBody,
  emptyBody,
  fleetSchema,
  groupParams,
  idParams,
  importBody,
  installRowSchema,
  NODE_ID_PATTERN,
  nodeDetailSchema,
  nodeRowSchema,
  okNode,
  okNodes,
  storedEventSchema,
  swarmSchema,
} from './schemas.ts'
import { type SwarmSources, swarmRows } from './swarms.ts'
import { NODE_STATES, type NodeState } from './types.ts'

export interface FleetRoutesInit {
  /** Tracker and first seeder views for /api/v1/swarms (serve passes them); without them the list is empty. */
  swarms?: SwarmSources | undefined
}

type Id = { Params: { id: string } }

const noQuery = { type: 'object', additionalProperties: false, properties: {} } as const

/** Who asked, for the actions table: the token, or a dashboard session, and from where. */
function who(ctx: ApiContext, req: FastifyRequest): string {
  return `${ctx.auth.checkBearer(req) ? 'token' : 'dashboard'}@${req.ip}`
}

export function registerFleetRoutes(
  app: FastifyInstance,
  ctx: ApiContext,
  fleet: Fleet,
  init: FleetRoutesInit = {},
): void {
  const admin = { onRequest: ctx.auth.require }
  // Open event streams would hold the server's close() forever: end them first.
  app.addHook('preClose', async () => {
    fleet.stream.close()
  })
  // A logout ends the streams opened on that session, not only the page's own.
  ctx.auth.sessions.onEnd(() => fleet.stream.revalidate())
  // Reimage and cancel carry no fields: no body at all is an empty one (then checked like any other).
  const noBody = {
    ...admin,
    preValidation: async (req: FastifyRequest) => {
      if (req.body === undefined || req.body === null) req.body = {}
    },
  }
  const tags = ['fleet']

  app.get<{ Querystring: { state?: NodeState; group?: string; q?: string } }>(
    '/api/v1/nodes',
    {
      ...admin,
      schema: {
        summary: 'The nodes of the inventory, with their live progress',
        tags,
        security: ADMIN,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            state: { type: 'string', enum: [...NODE_STATES] },
            group: { type: 'string', maxLength: 64 },
            q: { type: 'string', maxLength: 253, description: 'substring of the host name, MAC or IP' },
          },
        },
        response: {
          200: { type: 'object', required: ['nodes'], properties: { nodes: { type: 'array', items: nodeRowSchema } } },
          ...errorResponses(400, 401),
        },
      },
    },
    async (req) => ({ nodes: fleet.list(req.query) }),
  )

  app.get<Id>(
    '/api/v1/nodes/:id',
    {
      ...admin,
      schema: {
        summary: 'One node: live progress, hardware facts, its newest events and its installs',
        tags,
        security: ADMIN,
        params: idParams,
        response: { 200: nodeDetailSchema, ...errorResponses(400, 401, 404) },
      },
    },
    async (req) => fleet.node(req.params.id),
  )

  app.get<Id & { Querystring: { after?: number; limit: number } }>(
    '/api/v1/nodes/:id/events',
    {
      ...admin,
      schema: {
        summary: "A node's events, oldest first (its console lines are the events' logTail and message)",
        tags,
        security: ADMIN,
        params: idParams,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            after: { type: 'integer', minimum: 0, description: 'only events with a larger seq' },
            limit: { type: 'integer', minimum: 1, maximum: 10000, default: 500 },
          },
        },
        response: {
          200: {
            type: 'object',
            required: ['events'],
            properties: { events: { type: 'array', items: storedEventSchema } },
          },
          ...errorResponses(400, 401, 404),
        },
      },
    },
    async (req) => ({ events: fleet.events(req.params.id, req.query.after, req.query.limit) }),
  )

  app.get<{ Querystring: { node?: string; limit: number } }>(
    '/api/v1/installs',
    {
      ...admin,
      schema: {
        summary: 'The install history, newest first',
        tags,
        security: ADMIN,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            node: { type: 'string', pattern: NODE_ID_PATTERN, description: 'only this node' },
            limit: { type: 'integer', minimum: 1, maximum: 10000, default: 100 },
          },
        },
        response: {
          200: {
            type: 'object',
            required: ['installs'],
            properties: { installs: { type: 'array', items: installRowSchema } },
          },
          ...errorResponses(400, 401, 404),
        },
      },
    },
    async (req) => ({ installs: fleet.installs(req.query.node, req.query.limit) }),
  )

  app.get(
    '/api/v1/fleet',
    {
      ...admin,
      schema: {
        summary: 'Counts per state, current rates, bytes from the server and from peers, the last hour',
        querystring: noQuery,
        tags,
        security: ADMIN,
        response: { 200: fleetSchema, ...errorResponses(401) },
      },
    },
    async () => ({ ...fleet.summary(), history: fleet.history() }),
  )

  app.get(
    '/api/v1/swarms',
    {
      ...admin,
      schema: {
        summary: 'The swarm of each packed version: seeders, leechers, piece availability',
        querystring: noQuery,
        tags,
        security: ADMIN,
        response: {
          200: { type: 'object', required: ['swarms'], properties: { swarms: { type: 'array', items: swarmSchema } } },
          ...errorResponses(401),
        },
      },
    },
    async () => ({ swarms: init.swarms ? swarmRows(init.swarms) : [] }),
  )

  app.get(
    '/api/v1/stream',
    {
      ...admin,
      schema: {
        summary: 'Live updates as Server-Sent Events: node, install, fleet and removed',
        querystring: noQuery,
        description:
          '`event: node` a NodeRow (at most one per node per second), `event: install` an InstallRow on change, `event: fleet` the /api/v1/fleet object without history (every 2 s), `event: removed` `{id}` after a node is removed.',
        tags,
        security: ADMIN,
        response: {
          200: { description: 'an event stream', content: { 'text/event-stream': { schema: { type: 'string' } } } },
          ...errorResponses(401),
        },
      },
    },
    (req: FastifyRequest, reply: FastifyReply) => {
      reply.hijack()
      const id = sessionCookie(req)
      const sessions = ctx.auth.sessions
      fleet.stream.attach(reply.raw, ctx.auth.checkBearer(req) ? undefined : () => sessions.get(id) !== undefined)
    },
  )

  const action = (summary: string) => ({
    summary,
    tags,
    security: ADMIN,
    params: idParams,
    response: { 200: okNode, ...errorResponses(400, 401, 403, 404, 409) },
  })

  app.post<Id>(
    '/api/v1/nodes/:id/reimage',
    { ...noBody, schema: { ...action('Reimage the node at its next network boot'), body: emptyBody } },
    async (req) => ({ ok: true, node: fleet.requestReimage(req.params.id, who(ctx, req)) }),
  )

  app.post<Id>(
    '/api/v1/nodes/:id/cancel',
    {
      ...noBody,
      schema: { ...action('Withdraw a pending reimage; a running install is marked cancelled'), body: emptyBody },
    },
    async (req) => ({ ok: true, node: fleet.cancel(req.params.id, who(ctx, req)) }),
  )

  app.post<Id & { Body: { group: string } }>(
    '/api/v1/nodes/:id/adopt',
    { ...admin, schema: { ...action('Adopt a (discovered) node into a group'), body: adoptBody } },
    async (req) => ({ ok: true, node: fleet.adopt(req.params.id, req.body.group, who(ctx, req)) }),
  )

  app.delete<Id>(
    '/api/v1/nodes/:id',
    { ...admin, schema: action('Remove the node from the inventory (its history stays)') },
    async (req) => ({ ok: true, node: fleet.remove(req.params.id) }),
  )

  app.post<{ Params: { group: string } }>(
    '/api/v1/groups/:group/reimage',
    {
      ...noBody,
      schema: {
        summary: 'Reimage every node of a group at its next network boot (all or none)',
        tags,
        security: ADMIN,
        params: groupParams,
        body: emptyBody,
        response: { 200: okNodes, ...errorResponses(400, 401, 403, 404, 409) },
      },
    },
    async (req) => ({ ok: true, nodes: fleet.requestGroupReimage(req.params.group, who(ctx, req)) }),
  )

  app.post<{ Body: { csv: string; file?: string } }>(
    '/api/v1/nodes/import',
    {
      ...admin,
      bodyLimit: 9 * 1024 * 1024,
      schema: {
        summary: 'Import an inventory CSV (mac,ip[,hostname[,group]]), all lines or none',
        tags,
        security: ADMIN,
        body: importBody,
        response: { 200: okNodes, ...errorResponses(400, 401, 403, 409, 413) },
      },
    },
    async (req) => ({ ok: true, nodes: fleet.importCsv(req.body.csv, req.body.file ?? 'the CSV') }),
  )
}
