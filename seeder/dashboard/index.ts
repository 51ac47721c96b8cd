// The web dashboard: static files at /ui/ (and / redirecting there), and the
// login/logout/session routes that let it use the admin API with a cookie.
// The data comes from the fleet API and its SSE stream (seeder/fleet). See
// docs/dashboard.md.
import type { FastifyInstance } from 'fastify'
import type { ApiContext } from '../api/context.ts'
import { type LoginInit, registerLogin } from './login.ts'
import { registerStatic } from './static.ts'

export { clearPassword, PASSWORD_FILE, PASSWORD_MIN, readPasswordHash, setPassword } from './password.ts'
export { CSP, staticDir } from './static.ts'

export interface DashboardInit extends LoginInit {
  /** The static files' folder (default: seeder/dashboard/static). */
  staticDir?: string
}

export async function registerDashboard(
  app: FastifyInstance,
  ctx: ApiContext,
  init: DashboardInit = {},
): Promise<void> {
  registerLogin(app, ctx, init)
  await registerStatic(app, init.staticDir)
}
