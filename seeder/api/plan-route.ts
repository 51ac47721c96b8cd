// GET /api/v1/plan: the calling node's install plan, signed with the
// server's key for the node that asked (docs/plan-signing.md). Unknown nodes
// get no plan unless a group of the cluster config allows auto-enrolment.
import type { FastifyInstance } from 'fastify'
import { errors } from '../../common/errors.ts'
import { signErrors } from '../../common/errors-sign.ts'
import { NONCE_PATTERN, PLAN_SIGNATURE_HEADER, signPlan } from '../../common/plan-signature.ts'
import { installPlanSchema, normalizeHostname, normalizeIp, normalizeMac, resolvePlan } from '../plans/index.ts'
import { loadOrCreateSigningKey, type SigningKey } from '../store/keys.ts'
import { type ApiContext, grant } from './context.ts'
import { errorResponses } from './http-errors.ts'
import type { RateHook } from './ratelimit.ts'

type PlanReq = { Querystring: { mac?: string; hostname?: string; ip?: string; nonce?: string } }

export interface PlanRouteInit {
  /** The plan-signing key (the manifest-signing key); default: loaded from STORE/keys on first use. */
  signingKey?: () => Promise<SigningKey>
  rateLimit?: RateHook | undefined
  /** The signing clock (ms); tests pass their own. */
  now?: () => number
}

function lazyKey(ctx: ApiContext): () => Promise<SigningKey> {
  let key: Promise<SigningKey> | undefined
  return () => {
    key ??= loadOrCreateSigningKey(ctx.store.keysDir).catch((e: unknown) => {
      key = undefined
      throw e
    })
    return key
  }
}

export function registerPlanRoute(app: FastifyInstance, ctx: ApiContext, init: PlanRouteInit = {}): void {
  const signingKey = init.signingKey ?? lazyKey(ctx)
  const now = init.now ?? Date.now
  app.get<PlanReq>(
    '/api/v1/plan',
    {
      ...(init.rateLimit ? { onRequest: init.rateLimit } : {}),
      schema: {
        summary: 'The install plan of the calling node, signed',
        description:
          'Matched by mac, then hostname, then ip; without ip the request source address is used. Node-facing, no token. ' +
          'The X-Imgswarm-Plan-Signature header signs the body for the mac, hostname, ip and nonce asked for (docs/plan-signing.md). ' +
          'Nodes the plans do not name get 404 IMGSWARM_ERR_UNKNOWN_NODE, unless a group allows auto_enrol.',
        tags: ['nodes'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            mac: { type: 'string', maxLength: 17, description: 'MAC address (any case; colons, dashes or none)' },
            hostname: { type: 'string', maxLength: 253 },
            ip: { type: 'string', maxLength: 45 },
            nonce: {
              type: 'string',
              pattern: NONCE_PATTERN,
              description: 'random, fresh per request: echoed in the signed claims, so a replayed plan is refused',
            },
          },
        },
        response: { 200: installPlanSchema, ...errorResponses(400, 403, 404, 409, 429) },
      },
    },
    async (req, reply) => {
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
      const who = { mac: q.mac, hostname: q.hostname, ip }
      // The fleet database records an unknown MAC as discovered, and names the group a node was adopted into.
      const seen = ctx.fleet?.planRequested(who)
      const adopted = seen?.groups ?? []
      let spec = ctx.plans.planFor({ ...who, ...(adopted.length > 0 ? { groups: adopted } : {}) })
      if (!spec && adopted.length === 0) {
        // Not named anywhere and not adopted: only an auto_enrol group takes it in.
        const group = ctx.plans.autoEnrolGroup?.(who)
        if (group !== undefined) {
          spec = ctx.plans.planFor({ ...who, groups: [group] })
          const mac = q.mac === undefined ? undefined : normalizeMac(q.mac)
          if (spec && mac !== undefined && ctx.fleet) {
            ctx.fleet.adopt(mac, group, `auto-enrol:${group}`)
            req.log.info({ mac, group }, 'node auto-enrolled by its plan request')
          }
        }
      }
      if (!spec) throw noPlan(ctx, q, ip, adopted)
      // Direct overrides go into the plan's direct list, with a ticket for this address (seeder/direct).
      const resolved = await resolvePlan(ctx.catalog, spec, ctx.plansOrigin, ctx.plans.directOverrides?.())
      const withDirect = ctx.direct ? ctx.direct.issue(resolved, req.ip) : resolved
      // The node's one-time enrol token (docs/agent.md): inside the signed body, bound to this node and address.
      const enrolToken = ctx.fleet?.credentials.issueToken(
        { mac: q.mac, hostname: q.hostname ?? withDirect.node.hostname ?? undefined, ip: req.ip },
        `${withDirect.image.name}@${withDirect.image.version}`,
      )
      const plan = enrolToken === undefined ? withDirect : { ...withDirect, enrolToken }
      grant(ctx, 'image', plan.image.name, plan.image.version)
      for (const o of plan.overrides) grant(ctx, 'override', o.name, o.version)
      ctx.fleet?.planServed(who, `${plan.image.name}@${plan.image.version}`, plan.node.hostname)
      // The signature covers the exact bytes sent: serialize here, send the string as is.
      const body = reply.serialize(plan) as string
      const key = await signingKey()
      const sig = signPlan(
        Buffer.from(body),
        { mac: q.mac, hostname: q.hostname, ip: q.ip, nonce: q.nonce },
        key.privateKey,
        now(),
      )
      return reply.header(PLAN_SIGNATURE_HEADER, sig).type('application/json; charset=utf-8').send(body)
    },
  )
}

function noPlan(ctx: ApiContext, q: PlanReq['Querystring'], ip: string, adopted: string[]) {
  const mac = q.mac === undefined ? undefined : normalizeMac(q.mac)
  const who = [mac && `mac ${mac}`, q.hostname && `hostname ${q.hostname}`, `ip ${normalizeIp(ip) ?? ip}`]
    .filter(Boolean)
    .join(', ')
  const add =
    ctx.plans.unknownNodeHint ??
    `add a [[node]] with this mac, hostname or ip to ${ctx.plansOrigin}, then reload the plans (POST /api/v1/plans/reload)`
  if (adopted.length > 0) {
    return errors.notFound('install plan', `for ${who} (adopted into ${adopted.join(', ')})`, add)
  }
  const id = mac ?? (q.hostname === undefined ? undefined : normalizeHostname(q.hostname)) ?? 'MAC'
  const adopt = ctx.fleet && ctx.plans.groupNames ? `; or adopt it: imgswarm node adopt ${id} --group GROUP` : ''
  return signErrors.unknownNode(who, `${add}${adopt}`)
}
