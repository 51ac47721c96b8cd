// Schedules and their runs in the fleet database: rows in, API rows out.
import type { DatabaseSync } from 'node:sqlite'
import type { PowerDriverName } from '../../common/config-schedule.ts'
import { errors } from '../../common/errors.ts'
import type { NewSchedule, RunNode, RunResult, RunRow, RunTrigger, ScheduleAction, ScheduleRow } from './types.ts'

interface DbSchedule {
  id: number
  grp: string
  cron: string
  tz: string | null
  action: ScheduleAction
  target: string | null
  power: PowerDriverName | null
  enabled: number
  created_at: string
  created_by: string
  next_run: string | null
}

interface DbRun {
  id: number
  schedule_id: number | null
  grp: string
  action: ScheduleAction
  trigger: RunTrigger
  due_at: string
  started_at: string
  ended_at: string | null
  result: RunResult
  message: string | null
  nodes: string
}

function runRow(r: DbRun): RunRow {
  let nodes: RunNode[] = []
  try {
    nodes = JSON.parse(r.nodes) as RunNode[]
  } catch {}
  return {
    id: r.id,
    scheduleId: r.schedule_id,
    group: r.grp,
    action: r.action,
    trigger: r.trigger,
    dueAt: r.due_at,
    startedAt: r.started_at,
    endedAt: r.ended_at,
    result: r.result,
    message: r.message,
    nodes,
  }
}

export class ScheduleStore {
  readonly #db: DatabaseSync

  constructor(db: DatabaseSync) {
    this.#db = db
  }

  #row(s: DbSchedule): ScheduleRow {
    const last = this.#db
      .prepare('SELECT * FROM schedule_runs WHERE schedule_id = ? ORDER BY id DESC LIMIT 1')
      .get(s.id) as DbRun | undefined
    return {
      id: s.id,
      group: s.grp,
      cron: s.cron,
      timezone: s.tz,
      action: s.action,
      to: s.target,
      power: s.power,
      enabled: s.enabled === 1,
      createdAt: s.created_at,
      createdBy: s.created_by,
      nextRun: s.next_run,
      lastRun: last ? runRow(last) : null,
    }
  }

  add(s: NewSchedule, by: string, now: Date, nextRun: Date | undefined): ScheduleRow {
    const r = this.#db
      .prepare(
        'INSERT INTO schedules (grp, cron, tz, action, target, power, created_at, created_by, next_run) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      )
      .run(
        s.group,
        s.cron,
        s.timezone ?? null,
        s.action,
        s.to ?? null,
        s.power ?? null,
        now.toISOString(),
        by,
        nextRun?.toISOString() ?? null,
      )
    return this.get(Number(r.lastInsertRowid))
  }

  list(): ScheduleRow[] {
    return (this.#db.prepare('SELECT * FROM schedules ORDER BY id').all() as unknown as DbSchedule[]).map((s) =>
      this.#row(s),
    )
  }

  get(id: number): ScheduleRow {
    const s = this.#db.prepare('SELECT * FROM schedules WHERE id = ?').get(id) as DbSchedule | undefined
    if (!s) throw errors.scheduleNotFound(String(id))
    return this.#row(s)
  }

  remove(id: number): ScheduleRow {
    const s = this.get(id)
    this.#db.prepare('DELETE FROM schedules WHERE id = ?').run(id)
    return s
  }

  setEnabled(id: number, enabled: boolean, next: Date | undefined): ScheduleRow {
    this.get(id)
    this.#db
      .prepare('UPDATE schedules SET enabled = ?, next_run = ? WHERE id = ?')
      .run(enabled ? 1 : 0, next?.toISOString() ?? null, id)
    return this.get(id)
  }

  setNext(id: number, next: Date | undefined): void {
    this.#db.prepare('UPDATE schedules SET next_run = ? WHERE id = ?').run(next?.toISOString() ?? null, id)
  }

  startRun(s: ScheduleRow, trigger: RunTrigger, due: Date, now: Date): RunRow {
    const r = this.#db
      .prepare(
        'INSERT INTO schedule_runs (schedule_id, grp, action, trigger, due_at, started_at) VALUES (?, ?, ?, ?, ?, ?)',
      )
      .run(s.id, s.group, s.action, trigger, due.toISOString(), now.toISOString())
    return this.run(Number(r.lastInsertRowid))
  }

  updateRun(id: number, u: { result?: RunResult; message?: string | null; nodes?: RunNode[]; endedAt?: Date }): RunRow {
    const cur = this.run(id)
    this.#db
      .prepare('UPDATE schedule_runs SET result = ?, message = ?, nodes = ?, ended_at = ? WHERE id = ?')
      .run(
        u.result ?? cur.result,
        u.message === undefined ? cur.message : u.message,
        JSON.stringify(u.nodes ?? cur.nodes),
        u.endedAt?.toISOString() ?? cur.endedAt,
        id,
      )
    return this.run(id)
  }

  run(id: number): RunRow {
    const r = this.#db.prepare('SELECT * FROM schedule_runs WHERE id = ?').get(id) as DbRun | undefined
    if (!r) throw errors.scheduleNotFound(`run ${id}`)
    return runRow(r)
  }

  runs(scheduleId: number | undefined, limit: number): RunRow[] {
    const rows = (scheduleId === undefined
      ? this.#db.prepare('SELECT * FROM schedule_runs ORDER BY id DESC LIMIT ?').all(limit)
      : this.#db
          .prepare('SELECT * FROM schedule_runs WHERE schedule_id = ? ORDER BY id DESC LIMIT ?')
          .all(scheduleId, limit)) as unknown as DbRun[]
    return rows.map(runRow)
  }

  running(): RunRow[] {
    return (
      this.#db.prepare("SELECT * FROM schedule_runs WHERE result = 'running' ORDER BY id").all() as unknown as DbRun[]
    ).map(runRow)
  }
}
