// JSON schemas of the fleet API: they validate requests and document the
// responses (docs/openapi.json is built from them).
import { nodeEventSchema } from '../api/events.ts'
import { GROUP_PATTERN } from './csv.ts'
import { INSTALL_RESULTS, NODE_STATES } from './types.ts'

export const NODE_ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9.:_-]{0,252}$'

const str = { type: 'string' } as const
const nstr = { type: ['string', 'null'] } as const
const int = { type: 'integer', minimum: 0 } as const
const num = { type: 'number', minimum: 0 } as const

export const idParams = {
  type: 'object',
  additionalProperties: false,
  required: ['id'],
  properties: { id: { type: 'string', pattern: NODE_ID_PATTERN, description: 'host name, or MAC address' } },
} as const

export const groupParams = {
  type: 'object',
  additionalProperties: false,
  required: ['group'],
  properties: { group: { type: 'string', pattern: GROUP_PATTERN, description: 'group name' } },
} as const

/** Reimage and cancel take no fields; an empty object or no body at all. */
export const emptyBody = { type: 'object', additionalProperties: false, properties: {} } as const

export const adoptBody = {
  type: 'object',
  additionalProperties: false,
  required: ['group'],
  properties: { group: { type: 'string', pattern: GROUP_PATTERN } },
} as const

export const importBody = {
  type: 'object',
  additionalProperties: false,
  required: ['csv'],
  properties: {
    csv: { type: 'string', maxLength: 8 * 1024 * 1024, description: 'the inventory file (docs/inventory.md)' },
    file: { type: 'string', maxLength: 1024, description: 'its name, for error messages' },
  },
} as const

export const nodeRowSchema = {
  type: 'object',
  required: [
    'id',
    'hostname',
    'mac',
    'ip',
    'group',
    'state',
    'step',
    'percent',
    'bytesDown',
    'bytesUp',
    'rateDown',
    'rateUp',
    'peers',
    'etaSec',
    'image',
    'lastSeen',
    'message',
    'code',
  ],
  properties: {
    id: str,
    hostname: nstr,
    mac: nstr,
    ip: nstr,
    group: nstr,
    state: { type: 'string', enum: [...NODE_STATES] },
    step: nstr,
    percent: { type: ['number', 'null'] },
    bytesDown: int,
    bytesUp: int,
    rateDown: { ...num, description: 'bytes per second' },
    rateUp: { ...num, description: 'bytes per second' },
    peers: int,
    etaSec: { type: ['integer', 'null'] },
    image: { ...nstr, description: 'NAME@VERSION of the current or last install' },
    lastSeen: nstr,
    message: nstr,
    code: nstr,
  },
} as const

export const installRowSchema = {
  type: 'object',
  required: ['id', 'node', 'image', 'startedAt', 'endedAt', 'result', 'code', 'bytesFromServer', 'bytesFromPeers'],
  properties: {
    id: int,
    node: str,
    image: nstr,
    startedAt: str,
    endedAt: nstr,
    result: { type: 'string', enum: [...INSTALL_RESULTS] },
    code: nstr,
    bytesFromServer: int,
    bytesFromPeers: int,
  },
} as const

export const storedEventSchema = {
  ...nodeEventSchema,
  required: [...nodeEventSchema.required, 'seq'],
  properties: { ...nodeEventSchema.properties, seq: int },
} as const

const factsSchema = {
  type: ['object', 'null'],
  properties: {
    cpu: { type: 'object', properties: { model: str, count: int } },
    memoryBytes: int,
    disks: {
      type: 'array',
      items: { type: 'object', properties: { name: str, sizeBytes: int, model: nstr } },
    },
    nics: {
      type: 'array',
      items: { type: 'object', properties: { name: str, mac: nstr, speedMbps: { type: ['integer', 'null'] } } },
    },
  },
} as const

export const nodeDetailSchema = {
  type: 'object',
  required: [...nodeRowSchema.required, 'facts', 'events', 'installs'],
  properties: {
    ...nodeRowSchema.properties,
    facts: factsSchema,
    events: { type: 'array', items: storedEventSchema, description: 'the newest 200, oldest first' },
    installs: { type: 'array', items: installRowSchema, description: 'newest first' },
  },
} as const

const counts = {
  type: 'object',
  required: [...NODE_STATES],
  properties: Object.fromEntries(NODE_STATES.map((s) => [s, int])),
} as const

const sample = {
  type: 'object',
  required: ['t', 'rateDown', 'rateUp', 'bytesFromServer', 'bytesFromPeers'],
  properties: { t: str, rateDown: num, rateUp: num, bytesFromServer: int, bytesFromPeers: int },
} as const

export const fleetSchema = {
  type: 'object',
  required: ['counts', 'rateDown', 'rateUp', 'bytesFromServer', 'bytesFromPeers', 'history'],
  properties: {
    counts,
    rateDown: num,
    rateUp: num,
    bytesFromServer: { ...int, description: 'over all recorded installs' },
    bytesFromPeers: { ...int, description: 'over all recorded installs' },
    history: { type: 'array', items: sample, description: 'one sample per 5 s, the last hour, oldest first' },
  },
} as const

export const swarmSchema = {
  type: 'object',
  required: ['kind', 'name', 'version', 'infoHash', 'pieces', 'seeders', 'leechers', 'availability'],
  properties: {
    kind: str,
    name: str,
    version: str,
    infoHash: str,
    pieces: int,
    seeders: int,
    leechers: int,
    availability: {
      type: 'object',
      required: ['min', 'max', 'mean', 'histogram'],
      properties: {
        min: int,
        max: int,
        mean: num,
        histogram: {
          type: 'array',
          items: int,
          description: 'histogram[i]: pieces that i connected peers have (the last bucket: that many or more)',
        },
      },
    },
  },
} as const

export const okNode = {
  type: 'object',
  required: ['ok', 'node'],
  properties: { ok: { type: 'boolean' }, node: nodeRowSchema },
} as const

export const okNodes = {
  type: 'object',
  required: ['ok', 'nodes'],
  properties: { ok: { type: 'boolean' }, nodes: { type: 'array', items: nodeRowSchema } },
} as const
