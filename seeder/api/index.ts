// The image server's HTTP API (fastify) and the BEP 19 web seed, as one
// fastify instance that `imgswarm serve` listens with. See docs/api.md.

import type { IncomingMessage, ServerResponse } from 'node:http'
import { join } from 'node:path'
import type { Transform } from 'node:stream'
import Fastify, { type FastifyInstance } from 'fastify'
import type { Logger } from '../../common/log.ts'
import { registerBootRoutes } from '../boot/index.ts'
import { registerDashboard } from '../dashboard/index.ts'
import { createDirect, registerDirectRoutes } from '../direct/index.ts'
import { type Fleet, registerFleetRoutes, type SwarmSources } from '../fleet/index.ts'
import type { PlanSource } from '../plans/index.ts'
import { type Power, registerPowerRoutes } from '../power/index.ts'
import { registerFetchRoutes } from '../publish/routes.ts'
import { registerScheduleRoutes, type Scheduler } from '../schedule/index.ts'
import type { Store } from '../store/store.ts'
import { registerUpdateRoutes } from '../update/index.ts'
import { registerWebseed } from '../webseed/index.ts'
import { registerArchiveIndex } from './archive-index.ts'
import { type ApiPack, registerArtifacts } from './artifacts.ts'
import { AdminAuth } from './auth.ts'
import { Catalog } from './catalog.ts'
import { type ApiContext, authorizeNodeRead } from './context.ts'
import type { EventSink } from './events.ts'
import { errorResponses, sendError } from './http-errors.ts'
import { type NodeRoutesInit, registerNodeRoutes } from './node-routes.ts'
import { collectRoutes, openApiDocument } from './openapi.ts'
import { registerServerRoutes } from './server-routes.ts'

export type { InstallPlan, PlanArtifact, PlanQuery, PlanRef, PlanSource, PlanSpec } from '../plans/index.ts'
export { configPlanSource, filePlanSource } from '../plans/index.ts'
export { ADMIN_TOKEN_FILE, loadOrCreateAdminToken } from './auth.ts'
export {
  EVENT_STEPS,
  type EventSink,
  type EventStep,
  memoryEventSink,
  type NodeEvent,
  type NodeEventInput,
} from './events.ts'
export { openApiDocument } from './openapi.ts'
export const API_VERSION = '1.0.0'
export const DEFAULT_BODY_LIMIT = 256 * 1024

export interface ApiInit {
  store: Store
  /** Admin bearer token (see loadOrCreateAdminToken). */
  adminToken: string
  plans: PlanSource
  events: EventSink
  /** Public base URL of this server, e.g. http://10.0.0.1:8470: served .torrent files point here. */
  publicUrl: string
  /** Serve node-facing reads (torrent, manifest, web seed) only for versions a plan points to. Default true. */
  nodeReadsRestricted?: boolean
  /** The tracker's HTTP handler, mounted at /announce, /scrape, /stats, /metrics. */
  tracker?: { handleHttp(req: IncomingMessage, res: ServerResponse): boolean }
  /** Seeder status for /api/v1/health/ready and /api/v1/seeder. */
  seeder?: { ready(): boolean; status(): unknown; refresh?(): Promise<void> }
  /** Paces web seed bytes out of the server's upload budget (serve.upload_limit). */
  uploadThrottle?: () => Transform | undefined
  /** Admin pack operation (serve passes packVersion bound to its options). */
  pack?: ApiPack
  logger?: Logger
  /** Largest request body in bytes (default 256 KiB); larger ones get 413. */
  bodyLimit?: number
  /** Trust X-Forwarded-For for the source address (behind a reverse proxy). Default false. */
  trustProxy?: boolean
  /** The fleet database: inventory, installs, the fleet API and its SSE stream (seeder/fleet). */
  fleet?: Fleet
  /** The scheduler of serve (docs/schedules.md); without one the schedule routes answer 501. */
  scheduler?: () => Scheduler | undefined
  /** Power control (docs/power.md); without it the power routes answer 501. */
  power?: () => Power | undefined
  /** Tracker and seeder views for GET /api/v1/swarms. */
  swarms?: SwarmSources
  /** Extra installer kernel parameters (serve.boot_cmdline). */
  bootCmdline?: string
  /** Listen with HTTPS (serve.tls, docs/tls.md); the server's setSecureContext swaps a renewed pair in. */
  https?: { key: string; cert: string } | undefined
  /** serve.allow_insecure_direct: serve direct overrides without TLS (docs/secrets.md). */
  allowInsecureDirect?: boolean
  /** Per-source rate limits of GET /api/v1/plan and POST /api/v1/events (serve.rate_limit); the plan-signing clock. */
  nodeRoutes?: NodeRoutesInit
}

/** Builds the API with every route registered; not listening yet. */
export async function createApi(init: ApiInit): Promise<FastifyInstance> {
  const publicUrl = init.publicUrl.replace(/\/+$/, '')
  const app = Fastify({
    ...(init.logger ? { loggerInstance: init.logger } : { logger: false }),
    bodyLimit: init.bodyLimit ?? DEFAULT_BODY_LIMIT,
    trustProxy: init.trustProxy ?? false,
    // Fastify's default silently drops unknown fields; we refuse them instead.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true, allErrors: false } },
    // Web seed file names can be 137 characters.
    routerOptions: { maxParamLength: 200 },
    frameworkErrors: (err, req, reply) => sendError(err, req, reply),
    ...(init.https ? { https: { key: init.https.key, cert: init.https.cert } } : {}),
  }) as unknown as FastifyInstance
  const ctx: ApiContext = {
    store: init.store,
    catalog: new Catalog(init.store),
    auth: new AdminAuth(init.adminToken),
    plans: init.plans,
    events: init.events,
    publicUrl,
    nodeReadsRestricted: init.nodeReadsRestricted ?? true,
    plansOrigin: init.plans.origin ?? 'the plans file',
    granted: new Map(),
    fleet: init.fleet,
  }
  const direct = createDirect({
    names: () => init.plans.directOverrides?.() ?? new Set(),
    tls: init.https !== undefined,
    allowInsecure: init.allowInsecureDirect ?? false,
    packed: (kind, name, version) => ctx.catalog.packed(kind, name, version),
    logger: init.logger?.child({ component: 'direct' }),
  })
  ctx.direct = direct
  collectRoutes(app)
  app.setErrorHandler((err, req, reply) => sendError(err, req, reply))
  app.setNotFoundHandler((req, reply) =>
    reply
      .code(404)
      .send({ error: { code: 'IMGSWARM_ERR_NOT_FOUND', message: `no route ${req.method} ${req.url.split('?')[0]}` } }),
  )

  registerServerRoutes(app, ctx, { seeder: init.seeder, tracker: init.tracker })
  registerArtifacts(app, ctx, init.pack)
  registerArchiveIndex(app, ctx)
  registerDirectRoutes(app, direct)
  registerNodeRoutes(app, ctx, init.nodeRoutes)
  registerFetchRoutes(app, ctx)
  if (init.fleet) registerFleetRoutes(app, ctx, init.fleet, { swarms: init.swarms })
  // Node agents, their credentials and delta updates (seeder/update, docs/agent.md).
  const seeder = init.seeder
  registerUpdateRoutes(app, ctx, { refresh: seeder?.refresh ? async () => seeder.refresh?.() : undefined })
  registerScheduleRoutes(app, ctx, { scheduler: init.scheduler ?? (() => undefined) })
  registerPowerRoutes(app, ctx, { power: init.power ?? (() => undefined) })
  registerBootRoutes(app, {
    dir: join(init.store.root, 'boot'),
    keysDir: init.store.keysDir,
    publicUrl,
    ...(init.bootCmdline ? { extraCmdline: init.bootCmdline } : {}),
    // The fleet database (seeder/fleet) decides per MAC.
    fleet: () => ctx.fleet,
    ...(init.logger ? { logger: init.logger.child({ component: 'boot' }) } : {}),
  })
  await registerDashboard(app, ctx)
  registerWebseed(app, {
    packed: (kind, name, version) => ctx.catalog.packed(kind, name, version),
    authorize: (kind, name, version, req) => authorizeNodeRead(ctx, kind, name, version, req),
    errorResponses: errorResponses(400, 404, 416),
    ...(init.uploadThrottle ? { throttle: init.uploadThrottle } : {}),
  })
  app.get('/api/v1/openapi.json', { schema: { summary: 'This API as OpenAPI 3.1', tags: ['server'] } }, async () =>
    openApiDocument(app, { version: API_VERSION }),
  )
  // Not made ready: serve may add its own routes (dashboard) before listening.
  return app
}
