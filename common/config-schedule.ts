// The serve keys of schedules, power control and notifications:
// [serve.schedule], [serve.power] (and .wol .ipmi .ssh .amt) and
// [serve.notify] (and .webhook .smtp). docs/serve.md lists them;
// docs/schedules.md, docs/power.md and docs/notifications.md explain them.
import { errors } from './errors.ts'

export const POWER_DRIVERS = ['wol', 'ipmi', 'ssh', 'amt', 'none'] as const
export type PowerDriverName = (typeof POWER_DRIVERS)[number]
export const NOTIFY_EVENTS = ['finished', 'failed', 'skipped', 'node-failed'] as const
export type NotifyEventKind = (typeof NOTIFY_EVENTS)[number]

export interface PowerConfig {
  driver: PowerDriverName
  /** Per-host drivers and BMC addresses (docs/power.md); undefined: STORE/power.toml if it exists. */
  file: string | undefined
  wol: { port: number; broadcast: string | undefined; interface: string | undefined }
  ipmi: { user: string | undefined; passwordFile: string | undefined; bmc: string; interface: string }
  ssh: { user: string; identity: string | undefined; port: number; knownHosts: string | undefined }
  amt: { passwordFile: string | undefined; host: string }
  /** Most seconds one driver command may take. */
  timeoutSec: number
}

export interface NotifyConfig {
  events: NotifyEventKind[]
  webhook: { url: string; secretFile: string | undefined; retries: number } | undefined
  smtp:
    | {
        host: string
        port: number
        tls: 'none' | 'starttls' | 'tls'
        from: string
        to: string[]
        user: string | undefined
        passwordFile: string | undefined
      }
    | undefined
}

export interface ScheduleConfig {
  /** A run missed by at most this many seconds (server down) is run once at start-up; older ones are skipped. */
  catchUpSec: number
  /** A scheduled reimage not finished after this many seconds is reported as timed out. */
  timeoutSec: number
  power: PowerConfig
  notify: NotifyConfig
}

type T = Record<string, unknown>
const table = (f: string, v: unknown, key: string): T => {
  if (v === undefined) return {}
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw errors.config(f, `${key} must be a table`)
  return v as T
}
const known = (f: string, t: T, key: string, keys: string[]) => {
  for (const k of Object.keys(t))
    if (!keys.includes(k)) throw errors.config(f, `unknown key ${key}.${k} (allowed: ${keys.join(', ')})`)
}
const str = (f: string, v: unknown, key: string): string | undefined => {
  if (v === undefined) return undefined
  if (typeof v !== 'string' || v === '' || v.length > 1024) throw errors.config(f, `${key} must be a non-empty string`)
  return v
}
const int = (f: string, v: unknown, key: string, min: number, max: number, d: number): number => {
  if (v === undefined) return d
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
    throw errors.config(f, `${key} must be an integer from ${min} to ${max}`)
  return v
}
const oneOf = <K extends string>(f: string, v: unknown, key: string, all: readonly K[], d: K): K => {
  if (v === undefined) return d
  if (typeof v !== 'string' || !(all as readonly string[]).includes(v))
    throw errors.config(f, `${key} must be one of ${all.join(', ')}`)
  return v as K
}

/** "90", "90s", "30m", "1h", "2d" as seconds. */
export function parseDuration(text: string, what: string): number {
  const m = /^([0-9]{1,9})\s*(s|m|h|d)?$/.exec(text.trim())
  if (!m)
    throw errors.usage(`${what}: ${JSON.stringify(text)} is not a duration`, 'use seconds or a unit: 90s, 30m, 1h, 2d')
  const mult = { s: 1, m: 60, h: 3600, d: 86400 }[(m[2] ?? 's') as 's' | 'm' | 'h' | 'd']
  return Number(m[1]) * mult
}

const duration = (f: string, v: unknown, key: string, d: number): number => {
  if (v === undefined) return d
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return v
  if (typeof v !== 'string') throw errors.config(f, `${key} must be a duration such as "1h" or a number of seconds`)
  try {
    return parseDuration(v, key)
  } catch {
    throw errors.config(f, `${key} must be a duration such as "1h" or a number of seconds`)
  }
}

function power(f: string, p: T): PowerConfig {
  known(f, p, 'serve.power', ['driver', 'file', 'timeout', 'wol', 'ipmi', 'ssh', 'amt'])
  const w = table(f, p.wol, 'serve.power.wol')
  const i = table(f, p.ipmi, 'serve.power.ipmi')
  const s = table(f, p.ssh, 'serve.power.ssh')
  const a = table(f, p.amt, 'serve.power.amt')
  known(f, w, 'serve.power.wol', ['port', 'broadcast', 'interface'])
  known(f, i, 'serve.power.ipmi', ['user', 'password_file', 'bmc', 'interface'])
  known(f, s, 'serve.power.ssh', ['user', 'identity', 'port', 'known_hosts'])
  known(f, a, 'serve.power.amt', ['password_file', 'host'])
  return {
    driver: oneOf(f, p.driver, 'serve.power.driver', POWER_DRIVERS, 'wol'),
    file: str(f, p.file, 'serve.power.file'),
    timeoutSec: duration(f, p.timeout, 'serve.power.timeout', 60),
    wol: {
      port: int(f, w.port, 'serve.power.wol.port', 1, 65535, 9),
      broadcast: str(f, w.broadcast, 'serve.power.wol.broadcast'),
      interface: str(f, w.interface, 'serve.power.wol.interface'),
    },
    ipmi: {
      user: str(f, i.user, 'serve.power.ipmi.user'),
      passwordFile: str(f, i.password_file, 'serve.power.ipmi.password_file'),
      bmc: str(f, i.bmc, 'serve.power.ipmi.bmc') ?? '{host}-bmc',
      interface: oneOf(f, i.interface, 'serve.power.ipmi.interface', ['lanplus', 'lan'], 'lanplus'),
    },
    ssh: {
      user: str(f, s.user, 'serve.power.ssh.user') ?? 'root',
      identity: str(f, s.identity, 'serve.power.ssh.identity'),
      port: int(f, s.port, 'serve.power.ssh.port', 1, 65535, 22),
      knownHosts: str(f, s.known_hosts, 'serve.power.ssh.known_hosts'),
    },
    amt: {
      passwordFile: str(f, a.password_file, 'serve.power.amt.password_file'),
      host: str(f, a.host, 'serve.power.amt.host') ?? '{host}',
    },
  }
}

function notify(f: string, n: T): NotifyConfig {
  known(f, n, 'serve.notify', ['events', 'webhook', 'smtp'])
  const w = table(f, n.webhook, 'serve.notify.webhook')
  const m = table(f, n.smtp, 'serve.notify.smtp')
  known(f, w, 'serve.notify.webhook', ['url', 'secret_file', 'retries'])
  known(f, m, 'serve.notify.smtp', ['host', 'port', 'tls', 'from', 'to', 'user', 'password_file'])
  let events: NotifyEventKind[] = [...NOTIFY_EVENTS]
  if (n.events !== undefined) {
    if (!Array.isArray(n.events) || !n.events.every((e) => (NOTIFY_EVENTS as readonly unknown[]).includes(e)))
      throw errors.config(f, `serve.notify.events must be a list of ${NOTIFY_EVENTS.join(', ')}`)
    events = n.events as NotifyEventKind[]
  }
  const url = str(f, w.url, 'serve.notify.webhook.url')
  if (url !== undefined && !/^https?:\/\/[^\s/]+/.test(url))
    throw errors.config(f, 'serve.notify.webhook.url must be an http:// or https:// URL')
  const host = str(f, m.host, 'serve.notify.smtp.host')
  const tls = oneOf(f, m.tls, 'serve.notify.smtp.tls', ['none', 'starttls', 'tls'] as const, 'starttls')
  const to = typeof m.to === 'string' ? [m.to] : m.to
  if (host !== undefined) {
    if (
      !Array.isArray(to) ||
      to.length === 0 ||
      !to.every((t) => typeof t === 'string' && /^[^\s<>@]+@[^\s<>@]+$/.test(t))
    )
      throw errors.config(f, 'serve.notify.smtp.to must be an address or a list of addresses')
  }
  const from = str(f, m.from, 'serve.notify.smtp.from') ?? 'imgswarm@localhost'
  if (!/^[^\s<>@]+@[^\s<>@]+$/.test(from)) throw errors.config(f, 'serve.notify.smtp.from must be an address')
  return {
    events,
    webhook:
      url === undefined
        ? undefined
        : {
            url,
            secretFile: str(f, w.secret_file, 'serve.notify.webhook.secret_file'),
            retries: int(f, w.retries, 'serve.notify.webhook.retries', 0, 20, 5),
          },
    smtp:
      host === undefined
        ? undefined
        : {
            host,
            port: int(f, m.port, 'serve.notify.smtp.port', 1, 65535, tls === 'tls' ? 465 : 25),
            tls,
            from,
            to: to as string[],
            user: str(f, m.user, 'serve.notify.smtp.user'),
            passwordFile: str(f, m.password_file, 'serve.notify.smtp.password_file'),
          },
  }
}

/** Reads the [serve.schedule], [serve.power] and [serve.notify] tables of the config file `f`. */
export function scheduleConfig(f: string, serve: Record<string, unknown>): ScheduleConfig {
  const s = table(f, serve.schedule, 'serve.schedule')
  known(f, s, 'serve.schedule', ['catch_up', 'timeout'])
  return {
    catchUpSec: duration(f, s.catch_up, 'serve.schedule.catch_up', 3600),
    timeoutSec: duration(f, s.timeout, 'serve.schedule.timeout', 7200),
    power: power(f, table(f, serve.power, 'serve.power')),
    notify: notify(f, table(f, serve.notify, 'serve.notify')),
  }
}
