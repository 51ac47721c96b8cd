// Delta updates and the node agent's server side (docs/node-update.md,
// docs/agent.md): the agent API, signed by node credentials. This file is
// the whole public surface.
import type { FastifyInstance } from 'fastify'
import type { ApiContext } from '../api/context.ts'
import { type AdminRoutesInit, registerUpdateAdminRoutes } from './routes-admin.ts'
import { registerAgentRoutes } from './routes-agent.ts'

export { NodeAuth } from './auth.ts'

export { buildDelta, DELTA_DIR, DELTA_FILE, DELTA_SCHEMA, type DeltaDoc, deltaVersion, planDelta } from './build.ts'

export interface UpdateRoutesInit extends AdminRoutesInit {
  /** The clock of the signature checks (tests pass their own). */
  now?: () => number
}

/** Registers the agent and update routes; without a fleet database there are none. */
export function registerUpdateRoutes(app: FastifyInstance, ctx: ApiContext, init: UpdateRoutesInit = {}): void {
  const fleet = ctx.fleet
  if (!fleet) return
  registerAgentRoutes(app, fleet, init.now)
  registerUpdateAdminRoutes(app, ctx, fleet, init)
}
