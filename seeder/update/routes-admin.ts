// What operators call (admin token; docs/api.md, "Updates"):
//   POST /api/v1/update           delta-update nodes to NAME[@VER] (or --dry-run: what would change)
//   POST /api/v1/push-overrides   re-apply nodes' resolved overrides through their agents
//   GET  /api/v1/agent-jobs       recent agent jobs (?node=ID), GET /api/v1/agent-jobs/:id one job
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { errors, ImgswarmError } from '../../common/errors.ts'
import { formatRef, parseRef } from '../../common/names.ts'
import type { PlanArtifact } from '../../common/plan.ts'
import { type ApiContext, grant } from '../api/context.ts'
import { errorResponses } from '../api/http-errors.ts'
import { ADMIN } from '../api/schemas.ts'
import type { Fleet } from '../fleet/index.ts'
import { artifact, resolveRef } from '../plans/index.ts'
import { buildDelta, deltaVersion, planDelta } from './build.ts'
import { jobSchema, targetSchema, targetsBody } from './schemas.ts'

export interface AdminRoutesInit {
  /** Makes the first seeder and the tracker pick up a new delta at once. */
  refresh?: (() => Promise<void>) | undefined
  compression?: 'none' | 'zstd'
}

type Targets = { nodes?: string[]; group?: string }
type UpdateReq = { Body: Targets & { to: string; dryRun?: boolean; reboot?: boolean } }
type Line = Record<string, unknown> & { node: string }

const SAMPLE = 20

function who(ctx: ApiContext, req: FastifyRequest): string {
  return `${ctx.auth.checkBearer(req) ? 'token' : 'dashboard'}@${req.ip}`
}

/** Node ids: each name is a node, else a group (its members); `group` is always a group. */
function nodesOf(fleet: Fleet, t: Targets): string[] {
  const names = [...(t.nodes ?? []), ...(t.group === undefined ? [] : [`group:${t.group}`])]
  if (names.length === 0) throw errors.usage('name nodes or groups')
  const out = new Set<string>()
  for (const name of names) {
    const g = name.startsWith('group:') ? name.slice(6) : undefined
    if (g === undefined) {
      try {
        out.add(fleet.node(name).id)
        continue
      } catch (e) {
        if (!(e instanceof ImgswarmError) || e.code !== 'IMGSWARM_ERR_NODE_NOT_FOUND') throw e
      }
    }
    const ids = fleet.list({ group: g ?? name }).map((n) => n.id)
    if (ids.length === 0) throw g === undefined ? errors.nodeNotFound(name) : errors.groupEmpty(g)
    for (const id of ids) out.add(id)
  }
  return [...out]
}

const errorOf = (e: unknown) => {
  if (!(e instanceof ImgswarmError)) throw e
  return { code: e.code, message: e.message, ...(e.hint === undefined ? {} : { hint: e.hint }) }
}

export function registerUpdateAdminRoutes(app: FastifyInstance, ctx: ApiContext, fleet: Fleet, init: AdminRoutesInit) {
  const admin = { onRequest: ctx.auth.require }
  const tags = ['updates']
  const answer = {
    200: {
      type: 'object',
      required: ['nodes'],
      properties: { to: { type: 'string' }, nodes: { type: 'array', items: targetSchema } },
    },
    ...errorResponses(400, 401, 404),
  }

  /** The image version a node runs, from its credential; throws for a node that cannot be updated. */
  const current = (id: string) => {
    const c = fleet.credentials.ofNode(id)
    if (!c || c.revoked)
      throw errors.nodeAuth(
        `${id} has no valid credential (not installed by imgswarm, removed, or a reimage is pending)`,
      )
    if (c.image === null) throw errors.noCurrentVersion(c.node)
    return { cred: c, ref: parseRef(c.image) }
  }

  app.post<UpdateReq>(
    '/api/v1/update',
    {
      ...admin,
      schema: {
        summary: 'Delta-update running nodes to an image version (rollback: the previous version)',
        tags,
        security: ADMIN,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['to'],
          properties: {
            ...targetsBody,
            to: { type: 'string', maxLength: 129, description: 'NAME@VER, or NAME for its latest version' },
            dryRun: { type: 'boolean', default: false },
            reboot: { type: 'boolean', default: false },
          },
        },
        response: answer,
      },
    },
    async (req) => {
      const ids = nodesOf(fleet, req.body)
      const target = await ctx.store.resolve('image', req.body.to)
      const toRef = formatRef(target.name, target.version)
      const toPacked = await ctx.store.packed('image', target.name, target.version)
      const lines: Line[] = []
      for (const id of ids) {
        try {
          const { cred, ref } = current(id)
          if (ref.name !== target.name) {
            throw errors.deltaBuild(
              `${cred.node} runs image ${ref.name}; a delta joins two versions of one image (reimage it to change images)`,
            )
          }
          const from = ref.version as string
          if (from === target.version) throw errors.deltaSame(toRef)
          const line: Line = { node: cred.node, from: formatRef(ref.name, from), to: toRef }
          if (req.body.dryRun) {
            const d = await planDelta(ctx.store, target.name, from, target.version)
            line.delta = {
              ref: formatRef(target.name, deltaVersion(from, target.version)),
              added: d.added,
              changed: d.changed,
              deleted: d.deleted.length,
              meta: d.meta.length,
              bytes: d.bytes,
              imageSize: toPacked?.manifest.archive.size ?? null,
              paths: d.carry.slice(0, SAMPLE).map((p) => Buffer.from(p, 'latin1').toString('utf8')),
              deletedPaths: d.deleted.slice(0, SAMPLE).map((p) => Buffer.from(p, 'latin1').toString('utf8')),
            }
          } else {
            const built = await buildDelta(ctx.store, target.name, from, target.version, {
              publicUrl: ctx.publicUrl,
              ...(init.compression ? { compression: init.compression } : {}),
            })
            const v = built.info.manifest.version
            if (built.built) {
              ctx.catalog.invalidate()
              await init.refresh?.()
            }
            grant(ctx, 'delta', target.name, v)
            const delta = artifact('delta', target.name, v, built.info)
            const summary = {
              ref: formatRef(target.name, v),
              added: built.doc.added,
              changed: built.doc.changed,
              deleted: built.doc.deleted.length,
              meta: built.doc.meta.length,
              bytes: built.doc.bytes,
              archiveSize: delta.size,
              imageSize: toPacked?.manifest.archive.size ?? null,
              built: built.built,
            }
            const job = fleet.credentials.addJob(
              cred.node,
              'update',
              { image: target.name, from, to: target.version, reboot: req.body.reboot ?? false, delta, summary },
              who(ctx, req),
            )
            line.job = job.id
            line.delta = summary
          }
          lines.push(line)
        } catch (e) {
          lines.push({ node: id, to: toRef, error: errorOf(e) })
        }
      }
      return { to: toRef, nodes: lines }
    },
  )

  app.post<{ Body: Targets }>(
    '/api/v1/push-overrides',
    {
      ...admin,
      schema: {
        summary: "Re-apply each node's resolved overrides (cluster config) through its agent",
        tags,
        security: ADMIN,
        body: { type: 'object', additionalProperties: false, properties: { ...targetsBody } },
        response: answer,
      },
    },
    async (req) => {
      const lines: Line[] = []
      for (const id of nodesOf(fleet, req.body)) {
        try {
          const { cred } = current(id)
          const n = fleet.node(cred.node)
          const q = { mac: n.mac ?? undefined, hostname: n.hostname ?? undefined, ip: n.ip ?? undefined }
          const spec = ctx.plans.planFor({ ...q, groups: n.group === null ? [] : [n.group] })
          if (!spec) throw errors.noPlan('the server', `no plan names ${cred.node}`, ctx.plans.unknownNodeHint)
          const overrides: PlanArtifact[] = []
          for (const ref of spec.overrides) {
            const r = await resolveRef(ctx.catalog, 'override', ref)
            if ('problem' in r) throw errors.planUnresolved(cred.node, r.problem, ctx.plansOrigin)
            grant(ctx, 'override', r.name, r.version)
            overrides.push(artifact('override', r.name, r.version, r.packed))
          }
          const job = fleet.credentials.addJob(cred.node, 'push-overrides', { overrides }, who(ctx, req))
          lines.push({
            node: cred.node,
            job: job.id,
            delta: { overrides: overrides.map((o) => formatRef(o.name, o.version)) },
          })
        } catch (e) {
          lines.push({ node: id, error: errorOf(e) })
        }
      }
      return { nodes: lines }
    },
  )

  app.get<{ Querystring: { node?: string; limit: number } }>(
    '/api/v1/agent-jobs',
    {
      ...admin,
      schema: {
        summary: 'Recent agent jobs, newest first',
        tags,
        security: ADMIN,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            node: { type: 'string', maxLength: 253 },
            limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
          },
        },
        response: {
          200: { type: 'object', required: ['jobs'], properties: { jobs: { type: 'array', items: jobSchema } } },
          ...errorResponses(400, 401, 404),
        },
      },
    },
    async (req) => ({ jobs: fleet.credentials.jobs(req.query.node, req.query.limit) }),
  )

  app.get<{ Params: { id: number } }>(
    '/api/v1/agent-jobs/:id',
    {
      ...admin,
      schema: {
        summary: 'One agent job',
        tags,
        security: ADMIN,
        params: {
          type: 'object',
          additionalProperties: false,
          required: ['id'],
          properties: { id: { type: 'integer', minimum: 1 } },
        },
        response: {
          200: { type: 'object', required: ['job'], properties: { job: jobSchema } },
          ...errorResponses(400, 401, 404),
        },
      },
    },
    async (req) => {
      const job = fleet.credentials.job(req.params.id)
      if (!job) throw errors.notFound('job', String(req.params.id), 'list jobs with GET /api/v1/agent-jobs')
      return { job }
    },
  )
}
