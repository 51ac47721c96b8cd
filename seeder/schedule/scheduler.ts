// The scheduler inside `serve`: every tick it reads the schedules from the
// fleet database (so `schedule add --direct` is seen without a restart),
// runs those that are due, follows the open reimage runs, and reports new
// failed installs. The missed-run policy (docs/schedules.md): a run that
// came due while the server was down is run once at start-up if it is late
// by at most catch_up, else it is recorded as skipped, logged and notified;
// several missed runs of one schedule count as one.
import type { Logger } from '../../common/log.ts'
import type { Notification, Notifier } from '../notify/index.ts'
import { parseCron } from './cron.ts'
import { execute, type FleetView, type RunDeps, track } from './runner.ts'
import type { ScheduleStore } from './store.ts'
import type { RunRow, RunTrigger, ScheduleRow } from './types.ts'

export interface Clock {
  now(): Date
}

export interface SchedulerOptions {
  catchUpSec: number
  timeoutSec: number
}

export interface SchedulerDeps extends RunDeps {
  store: ScheduleStore
  notifier: Notifier | undefined
  clock: Clock
  logger: Logger | undefined
}

const MAX_COUNTED = 1000

/** How many runs of `s` fell in (from, to]; counted up to MAX_COUNTED. */
function missed(s: ScheduleRow, from: Date, to: Date): number {
  const c = parseCron(s.cron, s.timezone ?? undefined)
  let n = 0
  let t: Date | undefined = new Date(from.getTime() - 1)
  while (n < MAX_COUNTED) {
    t = c.next(t)
    if (!t || t > to) break
    n++
  }
  return n
}

export class SchedulerCore {
  readonly #d: SchedulerDeps
  readonly #o: SchedulerOptions
  #failedSeen = new Set<number>()
  #pending = new Set<Promise<unknown>>()

  constructor(deps: SchedulerDeps, o: SchedulerOptions) {
    this.#d = deps
    this.#o = o
  }

  /** Remembers the failed installs there are now, so that only new ones are notified. */
  baseline(fleet: FleetView): void {
    for (const i of fleet.installs(undefined, 500)) if (i.result === 'failed') this.#failedSeen.add(i.id)
  }

  #notify(event: Notification['event'], summary: string, s: ScheduleRow | undefined, run: RunRow | undefined): void {
    if (!this.#d.notifier) return
    const n: Notification = {
      version: 1,
      event,
      at: this.#d.clock.now().toISOString(),
      summary,
      schedule: s ? { id: s.id, group: s.group, action: s.action, cron: s.cron, timezone: s.timezone } : null,
      run: run
        ? {
            id: run.id,
            trigger: run.trigger,
            result: run.result,
            dueAt: run.dueAt,
            startedAt: run.startedAt,
            endedAt: run.endedAt,
            message: run.message,
            nodes: run.nodes.map((x) => ({ id: x.id, state: x.state })),
          }
        : null,
      node: null,
    }
    this.#send(n)
  }

  #send(n: Notification): void {
    const p = (this.#d.notifier as Notifier).notify(n).finally(() => this.#pending.delete(p))
    this.#pending.add(p)
  }

  /** Resolves when every notification sent so far has been delivered or has failed. */
  async idle(): Promise<void> {
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending])
  }

  #closed(s: ScheduleRow | undefined, run: RunRow): void {
    const what = `${run.action} of ${run.group}`
    const log = this.#d.logger
    if (run.result === 'done') {
      log?.info({ run: run.id, schedule: run.scheduleId }, `scheduled ${what} finished`)
      this.#notify('finished', `scheduled ${what} finished: ${run.message ?? ''}`, s, run)
    } else {
      log?.warn({ run: run.id, schedule: run.scheduleId, result: run.result }, `scheduled ${what}: ${run.message}`)
      this.#notify('failed', `scheduled ${what} ${run.result}: ${run.message ?? ''}`, s, run)
    }
  }

  /** Starts one run of `s` now; a reimage stays open. */
  async fire(s: ScheduleRow, trigger: RunTrigger, due: Date, by: string): Promise<RunRow> {
    const d = this.#d
    const run = d.store.startRun(s, trigger, due, d.clock.now())
    d.logger?.info({ schedule: s.id, run: run.id, trigger }, `schedule #${s.id}: ${s.action} ${s.group}`)
    const out = await execute(d, s, by)
    const closed = out.result !== 'running'
    const row = d.store.updateRun(run.id, { ...out, ...(closed ? { endedAt: d.clock.now() } : {}) })
    if (closed) this.#closed(s, row)
    return row
  }

  /** Records a missed run as skipped, logs and notifies it. */
  skip(s: ScheduleRow, due: Date, count: number): RunRow {
    const d = this.#d
    const now = d.clock.now()
    const late = Math.round((now.getTime() - due.getTime()) / 1000)
    const msg = `missed ${count} run(s) while the server was down (due ${due.toISOString()}, ${late} s ago > catch_up ${this.#o.catchUpSec} s): skipped`
    const run = d.store.startRun(s, 'catch-up', due, now)
    const row = d.store.updateRun(run.id, { result: 'skipped', message: msg, endedAt: now })
    d.logger?.warn({ schedule: s.id, run: run.id }, msg)
    this.#notify('skipped', `scheduled ${s.action} of ${s.group} skipped: ${msg}`, s, row)
    return row
  }

  /** One pass: due schedules, open runs, failed installs. `startup`: the first pass after serve starts. */
  async tick(startup: boolean): Promise<void> {
    const d = this.#d
    const now = d.clock.now()
    for (const s of d.store.list()) {
      if (!s.enabled || s.nextRun === null) continue
      const due = new Date(s.nextRun)
      if (due > now) continue
      let next: Date | undefined
      try {
        next = parseCron(s.cron, s.timezone ?? undefined).next(now)
      } catch (e) {
        d.logger?.error({ err: e, schedule: s.id }, 'schedule has a bad expression; disabled until fixed')
        d.store.setNext(s.id, undefined)
        continue
      }
      // Move on first: a crash during the run must not run it again at the next start.
      d.store.setNext(s.id, next)
      const late = (now.getTime() - due.getTime()) / 1000
      const count = missed(s, due, now)
      if (late > this.#o.catchUpSec) this.skip(s, due, count)
      else await this.fire(s, startup ? 'catch-up' : 'cron', due, `schedule:${s.id}`)
    }
    for (const run of d.store.running()) {
      const out = track(d.fleet, run, now, this.#o.timeoutSec)
      if (!out) continue
      const closed = out.result !== 'running'
      const row = d.store.updateRun(run.id, { ...out, ...(closed ? { endedAt: now } : {}) })
      if (closed) {
        let s: ScheduleRow | undefined
        try {
          s = run.scheduleId === null ? undefined : d.store.get(run.scheduleId)
        } catch {}
        this.#closed(s, row)
      }
    }
    this.#failedInstalls()
  }

  #failedInstalls(): void {
    if (!this.#d.notifier) return
    for (const i of this.#d.fleet.installs(undefined, 200)) {
      if (i.result !== 'failed' || this.#failedSeen.has(i.id)) continue
      this.#failedSeen.add(i.id)
      const n: Notification = {
        version: 1,
        event: 'node-failed',
        at: this.#d.clock.now().toISOString(),
        summary: `install of ${i.image ?? 'an image'} on ${i.node} failed${i.code ? ` (${i.code})` : ''}`,
        schedule: null,
        run: null,
        node: { id: i.node, install: i.id, image: i.image, code: i.code },
      }
      this.#send(n)
    }
  }
}
