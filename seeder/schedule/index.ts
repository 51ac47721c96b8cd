// Schedules (docs/schedules.md): cron expressions per group whose runs
// reimage, update, power off or reboot the group's nodes, kept in the fleet
// database and run by `serve`. This file is the whole public surface of
// seeder/schedule.
import type { DatabaseSync } from 'node:sqlite'
import { POWER_DRIVERS } from '../../common/config-schedule.ts'
import { errors } from '../../common/errors.ts'
import type { Logger } from '../../common/log.ts'
import { GROUP_PATTERN } from '../fleet/index.ts'
import type { Notifier } from '../notify/index.ts'
import type { Power } from '../power/index.ts'
import { parseCron } from './cron.ts'
import type { FleetView, UpdateHook } from './runner.ts'
import { type Clock, SchedulerCore } from './scheduler.ts'
import { ScheduleStore } from './store.ts'
import { type NewSchedule, type RunRow, SCHEDULE_ACTIONS, type ScheduleRow } from './types.ts'

export { type CronSchedule, checkCron, checkTimezone, MAX_CRON_LENGTH, parseCron } from './cron.ts'
export { registerScheduleRoutes, type ScheduleRoutesInit } from './routes.ts'
export type { FleetView, UpdateHook } from './runner.ts'
export type { Clock } from './scheduler.ts'
export * from './types.ts'

export interface SchedulerInit {
  /** The fleet database (a connection of its own: the schedules tables are in it). */
  db: DatabaseSync
  /** A run missed by at most this many seconds is run once at start-up (default 3600). */
  catchUpSec?: number
  /** A reimage run not finished after this many seconds is closed as timed out (default 7200). */
  timeoutSec?: number
  /** Tick interval in ms (default 15 s); 0: no timer (tests call tick()). */
  tickMs?: number
}

export interface SchedulerComponents {
  fleet: FleetView
  power?: Power | undefined
  notifier?: Notifier | undefined
  update?: UpdateHook | undefined
  /** The time (tests pass a clock they advance). */
  clock?: Clock
  logger?: Logger | undefined
}

export interface Scheduler {
  /** Applies the missed-run policy once, then ticks every tickMs. */
  start(): Promise<void>
  /** Stops ticking and waits for a tick in progress; idempotent. */
  stop(): Promise<void>
  /** One pass now (the timer calls it). */
  tick(): Promise<void>
  add(s: NewSchedule, by: string): ScheduleRow
  list(): ScheduleRow[]
  get(id: number): ScheduleRow
  remove(id: number): ScheduleRow
  /** Pauses or resumes a schedule; resuming counts its next run from now (runs while paused are not missed runs). */
  setEnabled(id: number, enabled: boolean): ScheduleRow
  /** Runs the schedule's action now (its next cron run is unchanged); resolves when the action has started. */
  runNow(id: number, by: string): Promise<RunRow>
  runs(scheduleId: number | undefined, limit: number): RunRow[]
  /** Resolves when the notifications sent so far are delivered or failed. */
  idle(): Promise<void>
}

const REF = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}@[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$/

/** Checks a new schedule's fields (the API schema checks the shapes; this the meaning). */
export function checkSchedule(s: NewSchedule): NewSchedule {
  if (typeof s.group !== 'string' || !new RegExp(GROUP_PATTERN).test(s.group))
    throw errors.scheduleInvalid(`group ${JSON.stringify(s.group)}: letters, digits, . _ + - (64 at most)`)
  if (!(SCHEDULE_ACTIONS as readonly string[]).includes(s.action))
    throw errors.scheduleInvalid(`action ${JSON.stringify(s.action)}: one of ${SCHEDULE_ACTIONS.join(', ')}`)
  if (s.power !== undefined && !(POWER_DRIVERS as readonly string[]).includes(s.power))
    throw errors.scheduleInvalid(`power ${JSON.stringify(s.power)}: one of ${POWER_DRIVERS.join(', ')}`)
  if (s.action === 'update') {
    if (s.to === undefined || !REF.test(s.to)) throw errors.scheduleInvalid('an update needs --to NAME@VERSION')
  } else if (s.to !== undefined) {
    throw errors.scheduleInvalid(
      `--to is for update only: a ${s.action} installs what the cluster config names for each node`,
    )
  }
  const c = parseCron(s.cron, s.timezone)
  return { ...s, cron: c.expr }
}

export function createScheduler(init: SchedulerInit, c: SchedulerComponents): Scheduler {
  const store = new ScheduleStore(init.db)
  const clock = c.clock ?? { now: () => new Date() }
  const core = new SchedulerCore(
    {
      store,
      fleet: c.fleet,
      power: c.power,
      update: c.update,
      notifier: c.notifier,
      clock,
      logger: c.logger,
    },
    { catchUpSec: init.catchUpSec ?? 3600, timeoutSec: init.timeoutSec ?? 7200 },
  )
  let timer: NodeJS.Timeout | undefined
  let current: Promise<void> | undefined
  let started = false
  let stopped = false
  const pass = (startup: boolean): Promise<void> => {
    if (current) return current
    current = core
      .tick(startup)
      .catch((e) => c.logger?.error({ err: e }, 'schedule tick failed'))
      .finally(() => {
        current = undefined
      })
    return current
  }
  return {
    async start() {
      if (started || stopped) return
      started = true
      core.baseline(c.fleet)
      await pass(true)
      const ms = init.tickMs ?? 15_000
      if (ms > 0 && !stopped) {
        timer = setInterval(() => void pass(false), ms)
        timer.unref()
      }
    },
    async stop() {
      stopped = true
      if (timer) clearInterval(timer)
      await current
      await core.idle()
    },
    tick: () => pass(false),
    add(s, by) {
      const ok = checkSchedule(s)
      // Only an action this server can carry out may be scheduled.
      if (ok.action === 'update' && !c.update) throw errors.needsAgent('update')
      const now = clock.now()
      return store.add(ok, by, now, parseCron(ok.cron, ok.timezone).next(now))
    },
    list: () => store.list(),
    get: (id) => store.get(id),
    remove: (id) => store.remove(id),
    setEnabled(id, enabled) {
      const s = store.get(id)
      const now = clock.now()
      return store.setEnabled(id, enabled, parseCron(s.cron, s.timezone ?? undefined).next(now))
    },
    async runNow(id, by) {
      const s = store.get(id)
      return core.fire(s, 'manual', clock.now(), by)
    },
    runs: (id, limit) => store.runs(id, limit),
    idle: () => core.idle(),
  }
}
