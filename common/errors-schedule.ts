// Error codes of schedules, power control and notifications (docs/schedules.md, docs/power.md, docs/notifications.md).
import { define, USAGE } from './error-core.ts'

export const scheduleErrors = {
  cron: define('IMGSWARM_ERR_CRON', USAGE, (expr: string, detail: string) => ({
    message: `cron expression ${JSON.stringify(expr)}: ${detail}`,
    hint: 'five fields: minute hour day-of-month month day-of-week, e.g. "0 3 * * 6" (Saturdays 03:00); see docs/schedules.md',
  })),
  timezone: define('IMGSWARM_ERR_TIMEZONE', USAGE, (tz: string) => ({
    message: `unknown time zone ${JSON.stringify(tz)}`,
    hint: 'use an IANA name such as Europe/Paris or UTC',
  })),
  scheduleNotFound: define('IMGSWARM_ERR_SCHEDULE_NOT_FOUND', 1, (id: string) => ({
    message: `schedule ${id} does not exist`,
    hint: 'list the schedules with: imgswarm schedule list',
  })),
  scheduleInvalid: define('IMGSWARM_ERR_SCHEDULE', USAGE, (detail: string) => ({
    message: `schedule: ${detail}`,
    hint: 'see imgswarm schedule add --help',
  })),
  needsAgent: define('IMGSWARM_ERR_NEEDS_AGENT', USAGE, (action: string) => ({
    message: `a scheduled ${action} needs the node agent (imgswarm node update, issue 8), which this imgswarm does not have yet`,
    hint: 'schedule a reimage instead (imgswarm schedule add GROUP --cron ... --action reimage); docs/schedules.md',
  })),
  power: define('IMGSWARM_ERR_POWER', 1, (driver: string, host: string, detail: string) => ({
    message: `power (${driver}) ${host}: ${detail}`,
    hint: 'check the power settings of this host (docs/power.md): BMC address, credentials, MAC, reachability',
  })),
  powerConfig: define('IMGSWARM_ERR_POWER_CONFIG', USAGE, (file: string, detail: string) => ({
    message: `power config ${file}: ${detail}`,
    hint: 'fix the file; its format is in docs/power.md',
  })),
  notify: define('IMGSWARM_ERR_NOTIFY', 1, (channel: string, detail: string) => ({
    message: `notification by ${channel} failed: ${detail}`,
    hint: 'check serve.notify in the config file (docs/notifications.md) and that the receiver is reachable',
  })),
}

/** HTTP status of each code above, for the schedule and power routes. */
export const SCHEDULE_STATUS: Record<string, number> = {
  IMGSWARM_ERR_CRON: 400,
  IMGSWARM_ERR_TIMEZONE: 400,
  IMGSWARM_ERR_SCHEDULE_NOT_FOUND: 404,
  IMGSWARM_ERR_SCHEDULE: 400,
  IMGSWARM_ERR_NEEDS_AGENT: 400,
  IMGSWARM_ERR_POWER: 502,
  IMGSWARM_ERR_POWER_CONFIG: 422,
  IMGSWARM_ERR_NOTIFY: 502,
}
