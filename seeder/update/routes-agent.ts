// What node agents call (docs/api.md, "Agent"):
//   POST /api/v1/agent/enrol        register a node's public key with its plan's one-time enrol token
//   GET  /api/v1/agent/whoami       the node the signature belongs to
//   GET  /api/v1/agent/jobs         the node's pending jobs (now marked running)
//   POST /api/v1/agent/jobs/:id     the outcome of one job
// All are signed (auth.ts): enrol with the key it registers, the others with
// the node's registered key. They live in their own fastify scope, whose JSON
// parser keeps the raw body for the signature.
import type { FastifyInstance } from 'fastify'
import { errorResponses } from '../api/http-errors.ts'
import { TOKEN_PATTERN } from '../fleet/enrol-token.ts'
import type { Fleet } from '../fleet/index.ts'
import { normalizeIp } from '../plans/index.ts'
import { NodeAuth } from './auth.ts'
import { jobSchema } from './schemas.ts'

const KEY = '^[A-Za-z0-9+/]{43}=$'
const REF = '^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}@[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$'

type EnrolReq = { Body: { token: string; mac?: string; hostname?: string; publicKey: string; image: string } }
type DoneReq = {
  Params: { id: number }
  Body: { status: 'done' | 'failed'; message?: string; code?: string; result?: Record<string, unknown> }
}

export const NODE_AUTH = [{ nodeSignature: [] }] as const

export function registerAgentRoutes(app: FastifyInstance, fleet: Fleet, now?: () => number): void {
  void app.register(async (sub) => {
    const parse = sub.getDefaultJsonParser('error', 'error')
    sub.addContentTypeParser('application/json', { parseAs: 'buffer' }, (req, body, done) => {
      req.rawBody = body as Buffer
      parse(req, (body as Buffer).toString('utf8'), done)
    })
    const auth = new NodeAuth(fleet, now)
    const signed = { preHandler: auth.require }
    const tags = ['agent']

    sub.post<EnrolReq>(
      '/api/v1/agent/enrol',
      {
        schema: {
          summary: "A freshly installed node registers its credential's public key",
          description:
            'Needs the one-time enrol token of the signed install plan (bound to the MAC or host name and the address the plan was served to) ' +
            'and the request signed with the key it registers (Authorization: Imgswarm-Node, docs/agent.md). A token enrols once.',
          security: NODE_AUTH,
          tags,
          body: {
            type: 'object',
            additionalProperties: false,
            required: ['token', 'publicKey', 'image'],
            properties: {
              token: { type: 'string', maxLength: 1024, pattern: TOKEN_PATTERN, description: "the plan's enrolToken" },
              mac: { type: 'string', maxLength: 32 },
              hostname: { type: 'string', maxLength: 253 },
              publicKey: { type: 'string', pattern: KEY, description: 'raw 32-byte ed25519 public key, base64' },
              image: { type: 'string', pattern: REF, description: 'NAME@VER just installed' },
            },
          },
          response: {
            201: {
              type: 'object',
              required: ['node', 'keyId'],
              properties: { node: { type: 'string' }, keyId: { type: 'string' } },
            },
            ...errorResponses(400, 401, 403, 413),
          },
        },
      },
      async (req, reply) => {
        // Proof of possession: signed with the private half of the key it registers.
        auth.check(req, () => req.body.publicKey)
        const c = fleet.credentials.enrol({ ...req.body, ip: normalizeIp(req.ip) ?? req.ip })
        req.log.info({ node: c.node, keyId: c.keyId }, 'node enrolled')
        return reply.code(201).send({ node: c.node, keyId: c.keyId })
      },
    )

    sub.get(
      '/api/v1/agent/whoami',
      {
        ...signed,
        schema: {
          summary: 'The node this signed request comes from, and the image version the server thinks it runs',
          tags,
          security: NODE_AUTH,
          response: {
            200: {
              type: 'object',
              required: ['node', 'keyId', 'image'],
              properties: { node: { type: 'string' }, keyId: { type: 'string' }, image: { type: ['string', 'null'] } },
            },
            ...errorResponses(401),
          },
        },
      },
      async (req) => {
        const c = req.nodeCredential
        return { node: c?.node, keyId: c?.keyId, image: c?.image ?? null }
      },
    )

    sub.get(
      '/api/v1/agent/jobs',
      {
        ...signed,
        schema: {
          summary: "The node's pending jobs, oldest first; they are marked running",
          tags,
          security: NODE_AUTH,
          response: {
            200: {
              type: 'object',
              required: ['jobs'],
              properties: { jobs: { type: 'array', items: jobSchema } },
            },
            ...errorResponses(401),
          },
        },
      },
      async (req) => ({ jobs: fleet.credentials.claimJobs(req.nodeCredential?.pk ?? -1) }),
    )

    sub.post<DoneReq>(
      '/api/v1/agent/jobs/:id',
      {
        ...signed,
        schema: {
          summary: 'The outcome of one running job of this node',
          tags,
          security: NODE_AUTH,
          params: {
            type: 'object',
            additionalProperties: false,
            required: ['id'],
            properties: { id: { type: 'integer', minimum: 1 } },
          },
          body: {
            type: 'object',
            additionalProperties: false,
            required: ['status'],
            properties: {
              status: { type: 'string', enum: ['done', 'failed'] },
              message: { type: 'string', maxLength: 4096 },
              code: { type: 'string', pattern: '^IMGSWARM_ERR_[A-Z0-9_]{1,64}$' },
              result: { type: 'object', maxProperties: 32 },
            },
          },
          response: {
            200: { type: 'object', required: ['job'], properties: { job: jobSchema } },
            ...errorResponses(400, 401, 404),
          },
        },
      },
      async (req) => {
        const c = req.nodeCredential
        if (!c) throw new Error('unreachable: no credential after auth')
        const { status, message, code, result } = req.body
        const job = fleet.credentials.finishJob(c.pk, req.params.id, status, {
          ...(result ?? {}),
          ...(message === undefined ? {} : { message }),
          ...(code === undefined ? {} : { code }),
        })
        if (status === 'done' && job.kind === 'update' && typeof job.params.to === 'string') {
          fleet.credentials.setImage(c.pk, `${String(job.params.image)}@${job.params.to}`)
        }
        return { job }
      },
    )
  })
}
