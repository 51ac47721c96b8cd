// Direct (secret) overrides, docs/secrets.md: never seeded, never in the
// tracker's allow-list, their torrent and web seed refused; a node fetches
// one over the API (HTTPS when TLS is on) with the install ticket its plan
// carries, once.
import { createReadStream } from 'node:fs'
import { readFile } from 'node:fs/promises'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { errors } from '../../common/errors.ts'
import type { Logger } from '../../common/log.ts'
import type { InstallPlan } from '../../common/plan.ts'
import { normalizeIp } from '../plans/config.ts'
import type { Kind, PackedInfo } from '../store/store.ts'
import { Tickets } from './tickets.ts'

export { overrideEntry } from './entry.ts'
export { DOWNLOADS_PER_TICKET, TICKET_MS, Tickets } from './tickets.ts'

export interface DirectInit {
  /** Override names marked direct by the plans (the plan source decides). */
  names: () => ReadonlySet<string>
  /** The API listens with TLS. */
  tls: boolean
  /** serve.allow_insecure_direct: serve them over plain HTTP anyway (warned). */
  allowInsecure: boolean
  packed: (kind: Kind, name: string, version: string) => Promise<PackedInfo | undefined>
  logger?: Logger | undefined
  now?: () => number
}

export interface Direct {
  names(): ReadonlySet<string>
  /** Mints the ticket of a plan that has direct overrides (refused over plain HTTP unless allowed). */
  issue(plan: InstallPlan, ip: string): InstallPlan
  /** True for the swarm side: this pack is a direct override and must never be seeded or announced. */
  isDirect(kind: Kind, name: string): boolean
}

const EMPTY: ReadonlySet<string> = new Set()

export function createDirect(init: DirectInit): Direct & { tickets: Tickets; init: DirectInit } {
  const tickets = new Tickets(init.now)
  const names = () => init.names() ?? EMPTY
  const secure = (what: string) => {
    if (init.tls) return
    if (!init.allowInsecure) throw errors.directInsecure(what)
    init.logger?.warn(`INSECURE: ${what}: a direct override goes out over plain HTTP (serve.allow_insecure_direct)`)
  }
  return {
    tickets,
    init,
    names,
    isDirect: (kind, name) => kind === 'override' && names().has(name),
    issue(plan, ip) {
      const list = plan.direct ?? []
      if (list.length === 0) return plan
      secure(`the plan for ${plan.node.hostname ?? plan.node.mac ?? ip}`)
      const ticket = tickets.mint(
        normalizeIp(ip) ?? ip,
        list.map((d) => `${d.name}@${d.version}`),
      )
      return { ...plan, ticket }
    },
  }
}

type Req = FastifyRequest<{ Params: { name: string; version: string; part: string } }>
const NAME = '^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$'

function bearer(req: FastifyRequest): string | undefined {
  const h = req.headers.authorization
  const m = typeof h === 'string' ? /^Bearer ([A-Za-z0-9_-]{1,200})$/.exec(h) : null
  return m?.[1]
}

/** GET /api/v1/direct/overrides/NAME/VERSION/{manifest,manifest.sig,archive} with the ticket. */
export function registerDirectRoutes(app: FastifyInstance, d: ReturnType<typeof createDirect>): void {
  app.get(
    '/api/v1/direct/overrides/:name/:version/:part',
    {
      schema: {
        summary: 'A direct (secret) override, for the node holding the install ticket',
        description:
          'Authorization: Bearer <ticket from the plan>. manifest and manifest.sig may be read while the ticket lasts; ' +
          'archive up to 3 times per ticket (docs/secrets.md).',
        tags: ['nodes'],
        params: {
          type: 'object',
          additionalProperties: false,
          required: ['name', 'version', 'part'],
          properties: {
            name: { type: 'string', pattern: NAME },
            version: { type: 'string', pattern: NAME },
            part: { type: 'string', enum: ['manifest', 'manifest.sig', 'archive'] },
          },
        },
      },
    },
    async (req: Req, reply) => {
      const { name, version, part } = req.params
      const ref = `${name}@${version}`
      if (!d.names().has(name)) throw errors.notFound('direct override', ref)
      if (!d.init.tls && !d.init.allowInsecure) throw errors.directInsecure(`direct override ${ref}`)
      d.tickets.check(bearer(req), ref, normalizeIp(req.ip) ?? req.ip, part === 'archive')
      const p = await d.init.packed('override', name, version)
      if (!p) throw errors.notFound('override', ref)
      reply.header('cache-control', 'no-store')
      if (part === 'manifest') return reply.type('application/json').send(await readFile(p.manifestFile))
      if (part === 'manifest.sig') return reply.type('application/octet-stream').send(await readFile(p.signatureFile))
      if (!d.init.tls) d.init.logger?.warn(`INSECURE: direct override ${ref} sent over plain HTTP to ${req.ip}`)
      return reply
        .type('application/octet-stream')
        .header('content-length', String(p.manifest.archive.size))
        .send(createReadStream(p.archive))
    },
  )
}
