// JSON schemas of the schedule API (docs/api.md "Schedules", docs/schedules.md).
import { POWER_DRIVERS } from '../../common/config-schedule.ts'
import { GROUP_PATTERN } from '../fleet/index.ts'
import { MAX_CRON_LENGTH } from './cron.ts'
import { RUN_RESULTS, RUN_TRIGGERS, SCHEDULE_ACTIONS } from './types.ts'

const str = { type: 'string' } as const
const nstr = { type: ['string', 'null'] } as const
const int = { type: 'integer', minimum: 0 } as const

export const runSchema = {
  type: 'object',
  required: [
    'id',
    'scheduleId',
    'group',
    'action',
    'trigger',
    'dueAt',
    'startedAt',
    'endedAt',
    'result',
    'message',
    'nodes',
  ],
  properties: {
    id: int,
    scheduleId: { type: ['integer', 'null'] },
    group: str,
    action: { type: 'string', enum: [...SCHEDULE_ACTIONS] },
    trigger: { type: 'string', enum: [...RUN_TRIGGERS] },
    dueAt: str,
    startedAt: str,
    endedAt: nstr,
    result: { type: 'string', enum: [...RUN_RESULTS] },
    message: nstr,
    nodes: {
      type: 'array',
      items: {
        type: 'object',
        required: ['id', 'state'],
        properties: { id: str, state: str, power: str },
      },
    },
  },
} as const

export const scheduleSchema = {
  type: 'object',
  required: [
    'id',
    'group',
    'cron',
    'timezone',
    'action',
    'to',
    'power',
    'enabled',
    'createdAt',
    'createdBy',
    'nextRun',
    'lastRun',
  ],
  properties: {
    id: int,
    group: str,
    cron: str,
    timezone: nstr,
    action: { type: 'string', enum: [...SCHEDULE_ACTIONS] },
    to: nstr,
    power: { type: ['string', 'null'] },
    enabled: { type: 'boolean' },
    createdAt: str,
    createdBy: str,
    nextRun: nstr,
    lastRun: { anyOf: [{ type: 'null' }, runSchema] },
  },
} as const

export const newScheduleBody = {
  type: 'object',
  additionalProperties: false,
  required: ['group', 'cron', 'action'],
  properties: {
    group: { type: 'string', pattern: GROUP_PATTERN },
    cron: {
      type: 'string',
      minLength: 9,
      maxLength: MAX_CRON_LENGTH,
      description: '5 fields: minute hour day month weekday',
    },
    timezone: { type: 'string', maxLength: 64, description: "IANA zone, e.g. Europe/Paris; default: the server's" },
    action: { type: 'string', enum: [...SCHEDULE_ACTIONS] },
    to: { type: 'string', maxLength: 200, description: 'update only: NAME@VERSION' },
    power: { type: 'string', enum: [...POWER_DRIVERS] },
  },
} as const

export const scheduleIdParams = {
  type: 'object',
  additionalProperties: false,
  required: ['id'],
  properties: { id: { type: 'integer', minimum: 1, maximum: 2 ** 31 } },
} as const
