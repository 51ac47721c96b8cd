// What the schedule API serves and the CLI and dashboard read (docs/schedules.md).
import type { PowerDriverName } from '../../common/config-schedule.ts'

export const SCHEDULE_ACTIONS = ['reimage', 'update', 'poweroff', 'reboot'] as const
export type ScheduleAction = (typeof SCHEDULE_ACTIONS)[number]
export const RUN_RESULTS = ['running', 'done', 'partial', 'failed', 'skipped', 'timeout'] as const
export type RunResult = (typeof RUN_RESULTS)[number]
export const RUN_TRIGGERS = ['cron', 'catch-up', 'manual'] as const
export type RunTrigger = (typeof RUN_TRIGGERS)[number]

export interface RunNode {
  id: string
  /** The node's state when last looked at, or what the power driver said went wrong. */
  state: string
  power?: string | undefined
}

export interface RunRow {
  id: number
  scheduleId: number | null
  group: string
  action: ScheduleAction
  trigger: RunTrigger
  dueAt: string
  startedAt: string
  endedAt: string | null
  result: RunResult
  message: string | null
  nodes: RunNode[]
}

export interface ScheduleRow {
  id: number
  group: string
  cron: string
  timezone: string | null
  action: ScheduleAction
  /** update: the image version (NAME@VER). */
  to: string | null
  /** The power driver for this schedule; null: each node's own (docs/power.md). */
  power: PowerDriverName | null
  enabled: boolean
  createdAt: string
  createdBy: string
  /** The next time it runs (ISO); null when the expression has no future run. */
  nextRun: string | null
  lastRun: RunRow | null
}

export interface NewSchedule {
  group: string
  cron: string
  timezone?: string | undefined
  action: ScheduleAction
  to?: string | undefined
  power?: PowerDriverName | undefined
}
