// The power API: power a node or every node of a group on, off, reboot it,
// or boot it into PXE, with its driver (docs/power.md). Admin token or a
// dashboard session. Each node gets its own result: one unreachable BMC
// does not hide the others.
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { POWER_DRIVERS, type PowerDriverName } from '../../common/config-schedule.ts'
import { errors, ImgswarmError } from '../../common/errors.ts'
import type { ApiContext } from '../api/context.ts'
import { errorResponses } from '../api/http-errors.ts'
import { ADMIN } from '../api/schemas.ts'
import { GROUP_PATTERN, type NodeRow } from '../fleet/index.ts'
import type { PowerOp } from './drivers.ts'
import type { Power } from './index.ts'

export interface PowerRoutesInit {
  power: () => Power | undefined
}

/** What a person asks for; reboot is the drivers' power cycle. */
export const POWER_VERBS = ['on', 'off', 'reboot', 'pxe'] as const
export type PowerVerb = (typeof POWER_VERBS)[number]
const OP: Record<PowerVerb, PowerOp> = { on: 'on', off: 'off', reboot: 'cycle', pxe: 'pxe' }

export interface PowerOutcome {
  node: string
  ok: boolean
  driver: string
  done: string[]
  error?: { code: string; message: string }
}

const body = {
  type: 'object',
  additionalProperties: false,
  required: ['op'],
  properties: {
    op: { type: 'string', enum: [...POWER_VERBS], description: 'reboot is a power cycle; pxe boots from the network' },
    driver: { type: 'string', enum: [...POWER_DRIVERS], description: "default: the node's (docs/power.md)" },
  },
} as const

const outcomes = {
  type: 'object',
  required: ['ok', 'results'],
  properties: {
    ok: { type: 'boolean', description: 'true when every node succeeded' },
    results: {
      type: 'array',
      items: {
        type: 'object',
        required: ['node', 'ok', 'driver', 'done'],
        properties: {
          node: { type: 'string' },
          ok: { type: 'boolean' },
          driver: { type: 'string' },
          done: { type: 'array', items: { type: 'string' } },
          error: {
            type: 'object',
            required: ['code', 'message'],
            properties: { code: { type: 'string' }, message: { type: 'string' } },
          },
        },
      },
    },
  },
} as const

type Body = { op: PowerVerb; driver?: PowerDriverName }

/** Runs `verb` on each node, 8 at a time, collecting each node's result. */
export async function powerNodes(
  power: Power,
  rows: NodeRow[],
  verb: PowerVerb,
  driver?: PowerDriverName,
): Promise<PowerOutcome[]> {
  const out: PowerOutcome[] = new Array(rows.length)
  let next = 0
  const worker = async () => {
    while (next < rows.length) {
      const i = next++
      const n = rows[i] as NodeRow
      try {
        const r = await power.run(OP[verb], n, driver)
        out[i] = { node: n.id, ok: true, driver: r.driver, done: r.done }
      } catch (e) {
        const code = e instanceof ImgswarmError ? e.code : 'IMGSWARM_ERR_POWER'
        out[i] = {
          node: n.id,
          ok: false,
          driver: power.driverFor(n, driver),
          done: [],
          error: { code, message: (e as Error).message },
        }
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(8, rows.length) }, worker))
  return out
}

export function registerPowerRoutes(app: FastifyInstance, ctx: ApiContext, init: PowerRoutesInit): void {
  const tags = ['power']
  const need = (): Power => {
    const p = init.power()
    if (!p || !ctx.fleet) throw errors.notSupported('power control (needs serve with the fleet database)')
    return p
  }
  const answer = async (rows: NodeRow[], req: FastifyRequest<{ Body: Body }>, p: Power) => {
    const results = await powerNodes(p, rows, req.body.op, req.body.driver)
    return { ok: results.every((r) => r.ok), results }
  }

  app.post<{ Params: { id: string }; Body: Body }>(
    '/api/v1/nodes/:id/power',
    {
      onRequest: ctx.auth.require,
      schema: {
        summary: 'Power a node on or off, reboot it, or boot it into PXE, with its power driver',
        tags,
        security: ADMIN,
        params: {
          type: 'object',
          additionalProperties: false,
          required: ['id'],
          properties: { id: { type: 'string', minLength: 1, maxLength: 253 } },
        },
        body,
        response: { 200: outcomes, ...errorResponses(400, 401, 403, 404, 501) },
      },
    },
    async (req) => {
      const p = need()
      const n = ctx.fleet?.node(req.params.id) as NodeRow
      return answer([n], req, p)
    },
  )

  app.post<{ Params: { group: string }; Body: Body }>(
    '/api/v1/groups/:group/power',
    {
      onRequest: ctx.auth.require,
      schema: {
        summary: "The same for every node of a group (the inventory's group column)",
        tags,
        security: ADMIN,
        params: {
          type: 'object',
          additionalProperties: false,
          required: ['group'],
          properties: { group: { type: 'string', pattern: GROUP_PATTERN } },
        },
        body,
        response: { 200: outcomes, ...errorResponses(400, 401, 403, 404, 501) },
      },
    },
    async (req) => {
      const p = need()
      const rows = (ctx.fleet?.list({ group: req.params.group }) ?? []).filter((n) => n.state !== 'discovered')
      if (rows.length === 0) throw errors.groupEmpty(req.params.group)
      return answer(rows, req, p)
    },
  )
}
