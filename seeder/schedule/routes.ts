// The schedule API: list, add, show (with its runs), remove, run now.
// Everything needs the admin token or a dashboard session.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { ImgswarmError } from '../../common/error-core.ts'
import { errors } from '../../common/errors.ts'
import { SCHEDULE_STATUS } from '../../common/errors-schedule.ts'
import type { ApiContext } from '../api/context.ts'
import { errorResponses } from '../api/http-errors.ts'
import { ADMIN } from '../api/schemas.ts'
import type { Scheduler } from './index.ts'
import { newScheduleBody, runSchema, scheduleIdParams, scheduleSchema } from './schemas.ts'
import type { NewSchedule } from './types.ts'

export interface ScheduleRoutesInit {
  /** The running scheduler (serve's); reads and edits go through it. */
  scheduler: () => Scheduler | undefined
}

type Id = { Params: { id: number } }
const tags = ['schedules']
const noQuery = { type: 'object', additionalProperties: false, properties: {} } as const
/** `{ ok, schedule }`: the answer of every route that changes one schedule. */
const okSchedule = {
  type: 'object',
  required: ['ok', 'schedule'],
  properties: { ok: { type: 'boolean' }, schedule: scheduleSchema },
} as const

/** Our codes get their status here (the shared error map does not know them). */
async function answer<T>(reply: FastifyReply, fn: () => T | Promise<T>): Promise<T | undefined> {
  try {
    return await fn()
  } catch (e) {
    const status = e instanceof ImgswarmError ? SCHEDULE_STATUS[e.code] : undefined
    if (status === undefined) throw e
    const err = e as ImgswarmError
    reply
      .code(status)
      .send({ error: { code: err.code, message: err.message, ...(err.hint ? { hint: err.hint } : {}) } })
    return undefined
  }
}

export function registerScheduleRoutes(app: FastifyInstance, ctx: ApiContext, init: ScheduleRoutesInit): void {
  const admin = { onRequest: ctx.auth.require }
  const sched = (): Scheduler => {
    const s = init.scheduler()
    if (!s) throw errors.notSupported('schedules (needs serve with the fleet database)')
    return s
  }
  // As the fleet routes record it: a valid token, else the dashboard session that let the request in.
  const who = (req: FastifyRequest) => `${ctx.auth.checkBearer(req) ? 'token' : 'dashboard'}@${req.ip}`

  app.get(
    '/api/v1/schedules',
    {
      ...admin,
      schema: {
        summary: 'The schedules with their next run and last run',
        tags,
        security: ADMIN,
        querystring: noQuery,
        response: {
          200: {
            type: 'object',
            required: ['schedules'],
            properties: { schedules: { type: 'array', items: scheduleSchema } },
          },
          ...errorResponses(401, 501),
        },
      },
    },
    async () => ({ schedules: sched().list() }),
  )

  app.post<{ Body: NewSchedule }>(
    '/api/v1/schedules',
    {
      ...admin,
      schema: {
        summary: 'Add a schedule: a cron expression, a group and an action',
        tags,
        security: ADMIN,
        body: newScheduleBody,
        response: {
          200: okSchedule,
          ...errorResponses(400, 401, 403, 501),
        },
      },
    },
    async (req, reply) => answer(reply, () => ({ ok: true, schedule: sched().add(req.body, who(req)) })),
  )

  app.get<Id>(
    '/api/v1/schedules/:id',
    {
      ...admin,
      schema: {
        summary: 'One schedule and its newest 50 runs',
        tags,
        security: ADMIN,
        params: scheduleIdParams,
        querystring: noQuery,
        response: {
          200: {
            type: 'object',
            required: ['schedule', 'runs'],
            properties: { schedule: scheduleSchema, runs: { type: 'array', items: runSchema } },
          },
          ...errorResponses(400, 401, 404, 501),
        },
      },
    },
    async (req, reply) =>
      answer(reply, () => {
        const s = sched()
        return { schedule: s.get(req.params.id), runs: s.runs(req.params.id, 50) }
      }),
  )

  app.delete<Id>(
    '/api/v1/schedules/:id',
    {
      ...admin,
      schema: {
        summary: 'Remove a schedule (its runs stay in the history)',
        tags,
        security: ADMIN,
        params: scheduleIdParams,
        response: {
          200: okSchedule,
          ...errorResponses(400, 401, 403, 404, 501),
        },
      },
    },
    async (req, reply) => answer(reply, () => ({ ok: true, schedule: sched().remove(req.params.id) })),
  )

  app.patch<Id & { Body: { enabled: boolean } }>(
    '/api/v1/schedules/:id',
    {
      ...admin,
      schema: {
        summary: 'Pause (enabled: false) or resume a schedule; resuming counts the next run from now',
        tags,
        security: ADMIN,
        params: scheduleIdParams,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['enabled'],
          properties: { enabled: { type: 'boolean' } },
        },
        response: {
          200: okSchedule,
          ...errorResponses(400, 401, 403, 404, 501),
        },
      },
    },
    async (req, reply) =>
      answer(reply, () => ({ ok: true, schedule: sched().setEnabled(req.params.id, req.body.enabled) })),
  )

  app.post<Id>(
    '/api/v1/schedules/:id/run',
    {
      ...admin,
      preValidation: async (req) => {
        if (req.body === undefined || req.body === null) req.body = {}
      },
      schema: {
        summary: "Run a schedule's action now (its next cron run stays)",
        tags,
        security: ADMIN,
        params: scheduleIdParams,
        body: { type: 'object', additionalProperties: false, properties: {} },
        response: {
          200: { type: 'object', required: ['ok', 'run'], properties: { ok: { type: 'boolean' }, run: runSchema } },
          ...errorResponses(400, 401, 403, 404, 501),
        },
      },
    },
    async (req, reply) => answer(reply, async () => ({ ok: true, run: await sched().runNow(req.params.id, who(req)) })),
  )
}
