// What the route modules share: the init options, the cached catalog, the
// admin check and the "only what a plan points to" rule.
import type { FastifyRequest } from 'fastify'
import { errors } from '../../common/errors.ts'
import { formatRef } from '../../common/names.ts'
import type { Direct } from '../direct/index.ts'
import type { Fleet } from '../fleet/index.ts'
import type { PlanSource } from '../plans/index.ts'
import { authorizeContentRead } from '../publish/access.ts'
import type { Kind, PackedInfo, Store } from '../store/store.ts'
import type { AdminAuth } from './auth.ts'
import type { Catalog } from './catalog.ts'
import type { EventSink } from './events.ts'

export interface ApiContext {
  store: Store
  catalog: Catalog
  auth: AdminAuth
  plans: PlanSource
  events: EventSink
  publicUrl: string
  nodeReadsRestricted: boolean
  plansOrigin: string
  /** Versions handed out in a plan recently: key -> expiry (ms). */
  granted: Map<string, number>
  /** The fleet database (serve opens STORE/fleet.db); without it the fleet routes are not registered. */
  fleet?: Fleet | undefined
  /** Direct (secret) overrides and their install tickets (seeder/direct, docs/secrets.md). */
  direct?: Direct | undefined
}

/**
 * A version a node received in a plan stays downloadable this long, even if
 * the plan's bare NAME has moved on to a newer version meanwhile: a node in
 * the middle of an install must not lose its web seed.
 */
export const GRANT_MS = 24 * 3600 * 1000

const grantKey = (kind: Kind, name: string, version: string) => `${kind}\0${name}\0${version}`

export function grant(ctx: ApiContext, kind: Kind, name: string, version: string): void {
  const now = Date.now()
  if (ctx.granted.size > 10_000) for (const [k, t] of ctx.granted) if (t < now) ctx.granted.delete(k)
  ctx.granted.set(grantKey(kind, name, version), now + GRANT_MS)
}

function granted(ctx: ApiContext, kind: Kind, name: string, version: string): boolean {
  const t = ctx.granted.get(grantKey(kind, name, version))
  return t !== undefined && t > Date.now()
}

export const KINDS = [
  ['images', 'image'],
  ['overrides', 'override'],
  ['content', 'content'],
  ['deltas', 'delta'],
] as const

/** True when some plan points to this version (a plan's bare NAME points to the latest packed version). */
export async function referenced(ctx: ApiContext, kind: Kind, name: string, version: string): Promise<boolean> {
  for (const r of ctx.plans.references()) {
    if (r.kind !== kind || r.name !== name) continue
    if (r.version === version) return true
    if (r.version === undefined && (await ctx.catalog.latestPacked(kind, name)) === version) return true
  }
  return false
}

/** Node-facing reads: the version must be packed and, unless the caller is admin, planned. */
export async function authorizeNodeRead(
  ctx: ApiContext,
  kind: Kind,
  name: string,
  version: string,
  req: FastifyRequest,
): Promise<void> {
  // A direct override's torrent, web seed and index are for the admin only: nodes use the ticket route.
  if (ctx.direct?.isDirect(kind, name) && !ctx.auth.check(req)) {
    throw errors.notFound(
      kind,
      formatRef(name, version),
      'it is a direct override: nodes fetch it with their install ticket only (docs/secrets.md)',
    )
  }
  if (!ctx.nodeReadsRestricted || ctx.auth.check(req)) return
  // Content is never in a plan: its own rule (published --public, docs/content.md).
  if (kind === 'content') return authorizeContentRead(ctx, name, version)
  if (!granted(ctx, kind, name, version) && !(await referenced(ctx, kind, name, version))) {
    throw errors.notFound(
      kind,
      formatRef(name, version),
      `no install plan points to it, and nodes get only what a plan names: add it to ${ctx.plansOrigin} and reload the plans (POST /api/v1/plans/reload), or send the admin token`,
    )
  }
}

export async function packedOr404(ctx: ApiContext, kind: Kind, name: string, version: string): Promise<PackedInfo> {
  const p = await ctx.catalog.packed(kind, name, version)
  if (p) return p
  const exists = (await ctx.catalog.versions(kind, name)).includes(version)
  throw exists ? errors.notPacked(formatRef(name, version)) : errors.notFound(kind, formatRef(name, version))
}
