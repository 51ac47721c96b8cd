// How `imgswarm node` reaches the fleet: through a running server's API
// (so the dashboard and the stream see the change at once), or, when no
// server answers and none was named, by opening STORE/fleet.db directly.
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { type Config, loadConfig } from '../../common/config.ts'
import type { PowerDriverName } from '../../common/config-schedule.ts'
import { errors, ImgswarmError } from '../../common/errors.ts'
import { readAdminToken } from '../../seeder/api/auth.ts'
import {
  FLEET_DB_FILE,
  type NodeDetail,
  type NodeFilter,
  type NodeRow,
  openFleet,
  openFleetDatabase,
} from '../../seeder/fleet/index.ts'
import { createNotifier } from '../../seeder/notify/index.ts'
import { createPower, type PowerOutcome, type PowerVerb, powerNodes } from '../../seeder/power/index.ts'
import {
  createScheduler,
  type NewSchedule,
  type RunRow,
  type ScheduleRow,
  type Scheduler,
} from '../../seeder/schedule/index.ts'

export interface FleetOpts {
  store?: string
  config?: string
  server?: string
  token?: string
  direct?: boolean
}

/** What the node commands do, whichever way they reach the fleet. */
export interface FleetBackend {
  readonly where: string
  list(f: NodeFilter): Promise<NodeRow[]>
  show(id: string): Promise<NodeDetail>
  remove(id: string): Promise<NodeRow>
  adopt(id: string, group: string): Promise<NodeRow>
  reimage(id: string): Promise<NodeRow>
  reimageGroup(group: string): Promise<NodeRow[]>
  cancel(id: string): Promise<NodeRow>
  importCsv(csv: string, file: string): Promise<NodeRow[]>
  schedules(): Promise<ScheduleRow[]>
  schedule(id: number): Promise<{ schedule: ScheduleRow; runs: RunRow[] }>
  addSchedule(s: NewSchedule): Promise<ScheduleRow>
  removeSchedule(id: number): Promise<ScheduleRow>
  enableSchedule(id: number, enabled: boolean): Promise<ScheduleRow>
  runSchedule(id: number): Promise<RunRow>
  /** Power for one node (`id`) or every node of a group. */
  power(target: { id: string } | { group: string }, op: PowerVerb, driver?: PowerDriverName): Promise<PowerOutcome[]>
  close(): Promise<void>
}

function directBackend(file: string, who: string, config: Config): FleetBackend {
  const fleet = openFleet({ file })
  const by = `cli:${who}`
  const sc = config.serve.schedule
  const power = sc ? createPower({ config: sc.power, storeRoot: config.store }) : undefined
  // The schedules without a server: a scheduler that never ticks (serve reads the rows at its next tick).
  let sched: { s: Scheduler; close: () => void } | undefined
  const scheduler = (): Scheduler => {
    if (!sched) {
      const db = openFleetDatabase(file)
      const notifier = sc ? createNotifier({ config: sc.notify }) : undefined
      const s = createScheduler(
        { db, tickMs: 0, ...(sc ? { catchUpSec: sc.catchUpSec, timeoutSec: sc.timeoutSec } : {}) },
        { fleet, power, notifier: notifier && notifier.channels.length > 0 ? notifier : undefined },
      )
      sched = { s, close: () => db.close() }
    }
    return sched.s
  }
  return {
    where: file,
    list: async (f) => fleet.list(f),
    show: async (id) => fleet.node(id),
    remove: async (id) => fleet.remove(id),
    adopt: async (id, g) => fleet.adopt(id, g, by),
    reimage: async (id) => fleet.requestReimage(id, by),
    reimageGroup: async (g) => fleet.requestGroupReimage(g, by),
    cancel: async (id) => fleet.cancel(id, by),
    importCsv: async (csv, f) => fleet.importCsv(csv, f),
    schedules: async () => scheduler().list(),
    schedule: async (id) => ({ schedule: scheduler().get(id), runs: scheduler().runs(id, 50) }),
    addSchedule: async (s) => scheduler().add(s, by),
    removeSchedule: async (id) => scheduler().remove(id),
    enableSchedule: async (id, on) => scheduler().setEnabled(id, on),
    async runSchedule(id) {
      const s = scheduler()
      const run = await s.runNow(id, by)
      await s.idle()
      return run
    },
    async power(target, op, driver) {
      if (!power) throw errors.notSupported('power control')
      const rows =
        'id' in target
          ? [fleet.node(target.id)]
          : fleet.list({ group: target.group }).filter((n) => n.state !== 'discovered')
      if (rows.length === 0) throw errors.groupEmpty('group' in target ? target.group : '')
      return powerNodes(power, rows, op, driver)
    },
    async close() {
      if (sched) {
        await sched.s.stop()
        sched.close()
      }
      await fleet.stop()
    },
  }
}

class HttpBackend implements FleetBackend {
  readonly where: string
  readonly #token: string | undefined

  constructor(url: string, token: string | undefined) {
    this.where = url
    this.#token = token
  }

  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = {}
    if (this.#token) headers.authorization = `Bearer ${this.#token}`
    if (body !== undefined) headers['content-type'] = 'application/json'
    let res: Response
    try {
      res = await fetch(`${this.where}${path}`, {
        method,
        headers,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(30_000),
      })
    } catch (e) {
      const cause = (e as { cause?: { code?: string } }).cause?.code ?? (e as Error).message
      throw Object.assign(
        errors.fleetServer(
          this.where,
          `cannot reach the server (${cause})`,
          'start imgswarm serve, check --server, or use --direct on the server',
        ),
        { unreachable: true },
      )
    }
    const text = await res.text()
    let json: unknown
    try {
      json = JSON.parse(text)
    } catch {
      throw errors.fleetServer(
        this.where,
        `HTTP ${res.status}, not JSON`,
        'check that --server points at imgswarm serve',
      )
    }
    if (!res.ok) {
      const err = (json as { error?: { code?: string; message?: string; hint?: string } }).error
      if (err?.code && err.message) {
        throw new ImgswarmError(err.code, err.message, {
          hint: err.hint ?? hintFor(res.status),
          exitCode: res.status === 400 || res.status === 401 ? 2 : 1,
        })
      }
      throw errors.fleetServer(this.where, `HTTP ${res.status}`, hintFor(res.status))
    }
    return json as T
  }

  list(f: NodeFilter) {
    const qs = new URLSearchParams()
    for (const [k, v] of Object.entries(f)) if (v !== undefined) qs.set(k, String(v))
    const s = qs.toString()
    return this.call<{ nodes: NodeRow[] }>('GET', `/api/v1/nodes${s ? `?${s}` : ''}`).then((r) => r.nodes)
  }
  show(id: string) {
    return this.call<NodeDetail>('GET', `/api/v1/nodes/${encodeURIComponent(id)}`)
  }
  remove(id: string) {
    return this.call<{ node: NodeRow }>('DELETE', `/api/v1/nodes/${encodeURIComponent(id)}`).then((r) => r.node)
  }
  adopt(id: string, group: string) {
    return this.call<{ node: NodeRow }>('POST', `/api/v1/nodes/${encodeURIComponent(id)}/adopt`, { group }).then(
      (r) => r.node,
    )
  }
  reimage(id: string) {
    return this.call<{ node: NodeRow }>('POST', `/api/v1/nodes/${encodeURIComponent(id)}/reimage`, {}).then(
      (r) => r.node,
    )
  }
  reimageGroup(group: string) {
    return this.call<{ nodes: NodeRow[] }>('POST', `/api/v1/groups/${encodeURIComponent(group)}/reimage`, {}).then(
      (r) => r.nodes,
    )
  }
  cancel(id: string) {
    return this.call<{ node: NodeRow }>('POST', `/api/v1/nodes/${encodeURIComponent(id)}/cancel`, {}).then(
      (r) => r.node,
    )
  }
  importCsv(csv: string, file: string) {
    return this.call<{ nodes: NodeRow[] }>('POST', '/api/v1/nodes/import', { csv, file }).then((r) => r.nodes)
  }
  schedules() {
    return this.call<{ schedules: ScheduleRow[] }>('GET', '/api/v1/schedules').then((r) => r.schedules)
  }
  schedule(id: number) {
    return this.call<{ schedule: ScheduleRow; runs: RunRow[] }>('GET', `/api/v1/schedules/${id}`)
  }
  addSchedule(s: NewSchedule) {
    return this.call<{ schedule: ScheduleRow }>('POST', '/api/v1/schedules', s).then((r) => r.schedule)
  }
  removeSchedule(id: number) {
    return this.call<{ schedule: ScheduleRow }>('DELETE', `/api/v1/schedules/${id}`).then((r) => r.schedule)
  }
  enableSchedule(id: number, enabled: boolean) {
    return this.call<{ schedule: ScheduleRow }>('PATCH', `/api/v1/schedules/${id}`, { enabled }).then((r) => r.schedule)
  }
  runSchedule(id: number) {
    return this.call<{ run: RunRow }>('POST', `/api/v1/schedules/${id}/run`, {}).then((r) => r.run)
  }
  power(target: { id: string } | { group: string }, op: PowerVerb, driver?: PowerDriverName) {
    const path =
      'id' in target
        ? `/api/v1/nodes/${encodeURIComponent(target.id)}/power`
        : `/api/v1/groups/${encodeURIComponent(target.group)}/power`
    return this.call<{ results: PowerOutcome[] }>('POST', path, { op, ...(driver ? { driver } : {}) }).then(
      (r) => r.results,
    )
  }
  async close() {}
}

function hintFor(status: number): string {
  if (status === 401)
    return 'pass the admin token: --token, IMGSWARM_TOKEN, or run on the server where STORE/keys/admin.token is readable'
  return 'see the server log'
}

/**
 * --direct: the database file. --server URL or IMGSWARM_SERVER_URL: that
 * server, which must answer. Otherwise server_url from the config file (or
 * the default http://HOSTNAME:8470) if a server answers there, else the
 * database file in the store.
 */
export async function openBackend(o: FleetOpts): Promise<FleetBackend> {
  const config = loadConfig({ config: o.config, store: o.store })
  const file = join(config.store, FLEET_DB_FILE)
  const who = process.env.SUDO_USER ?? process.env.USER ?? 'unknown'
  if (o.direct) return directBackend(file, who, config)
  const named = o.server ?? (process.env.IMGSWARM_SERVER_URL || undefined)
  const url = (named ?? config.serverUrl).replace(/\/+$/, '')
  if (!/^https?:\/\/[^/\s]+/.test(url)) throw errors.usage(`--server ${JSON.stringify(url)}: expected http://HOST:PORT`)
  const token =
    o.token ?? (process.env.IMGSWARM_TOKEN || undefined) ?? (await readAdminToken(config.store).catch(() => undefined))
  const http = new HttpBackend(url, token?.trim() || undefined)
  if (named !== undefined) return http
  try {
    await http.call('GET', '/api/v1/health')
    return http
  } catch (e) {
    if (!(e as { unreachable?: boolean }).unreachable) return http
    if (!existsSync(config.store)) throw errors.storeMissing(config.store)
    process.stderr.write(`imgswarm: no server answers at ${url}; using ${file} directly\n`)
    return directBackend(file, who, config)
  }
}
