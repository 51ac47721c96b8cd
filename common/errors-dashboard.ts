// Error codes of the dashboard: login, sessions, the operator's password and `imgswarm status`.
import { define, USAGE } from './error-core.ts'

export const dashboardErrors = {
  loginRefused: define('IMGSWARM_ERR_LOGIN_REFUSED', USAGE, (detail: string) => ({
    message: `login refused: ${detail}`,
    hint: 'log in with the admin token from STORE/keys/admin.token, or with the password set by imgswarm dashboard password',
  })),
  rateLimited: define('IMGSWARM_ERR_RATE_LIMITED', USAGE, (retryAfterSec: number) => ({
    message: `too many failed logins from this address; try again in ${retryAfterSec} s`,
    hint: 'wait, then log in with the right token or password',
  })),
  csrf: define('IMGSWARM_ERR_CSRF', USAGE, (detail: string) => ({
    message: `request refused: ${detail}`,
    hint: 'send state-changing requests with "content-type: application/json" (or "x-imgswarm-request: 1") from the dashboard itself, or use the bearer token',
  })),
  password: define('IMGSWARM_ERR_PASSWORD', USAGE, (detail: string) => ({
    message: `dashboard password: ${detail}`,
    hint: 'set a new one with: imgswarm dashboard password',
  })),
  statusServer: define('IMGSWARM_ERR_STATUS_SERVER', 1, (url: string, detail: string, hint: string) => ({
    message: `${url}: ${detail}`,
    hint,
  })),
}
