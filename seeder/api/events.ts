// Progress events posted by installing nodes. For now a ring buffer in
// memory plus an append-only JSONL file; the fleet database replaces the
// sink later behind the same interface.
import { appendFile, mkdir } from 'node:fs/promises'
import { dirname } from 'node:path'
import {
  EVENT_NODE,
  EVENT_STEPS,
  FACTS_MAX_DISKS,
  FACTS_MAX_NICS,
  FACTS_MODEL_MAX,
  FACTS_NAME_MAX,
  LOG_LINE_MAX,
  LOG_TAIL_MAX,
  MESSAGE_MAX,
  type NodeEventInput,
} from '../../common/events.ts'

export {
  EVENT_STEPS,
  type EventStep,
  LOG_LINE_MAX,
  LOG_TAIL_MAX,
  MESSAGE_MAX,
  type NodeEventInput,
} from '../../common/events.ts'

/** An event as stored: what the node sent plus what the server saw. */
export interface NodeEvent extends NodeEventInput {
  receivedAt: string
  /** Source address of the request. */
  ip: string
}

export interface EventSink {
  add(e: NodeEvent): Promise<void>
  /** The newest `limit` events (of one node if given), oldest first. */
  recent(limit: number, node?: string): NodeEvent[]
}

const count = { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER } as const
const rate = { type: 'number', minimum: 0 } as const
const shortText = { type: 'string', maxLength: FACTS_NAME_MAX } as const
const modelText = { type: ['string', 'null'], maxLength: FACTS_MODEL_MAX } as const

/** Hardware facts (common/events.ts NodeFacts), bounded so a node cannot fill the database. */
export const nodeFactsSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['cpu', 'memoryBytes', 'disks', 'nics'],
  properties: {
    cpu: {
      type: 'object',
      additionalProperties: false,
      required: ['model', 'count'],
      properties: {
        model: { type: 'string', maxLength: FACTS_MODEL_MAX },
        count: { type: 'integer', minimum: 0, maximum: 65536 },
      },
    },
    memoryBytes: count,
    disks: {
      type: 'array',
      maxItems: FACTS_MAX_DISKS,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'sizeBytes', 'model'],
        properties: { name: shortText, sizeBytes: count, model: modelText },
      },
    },
    nics: {
      type: 'array',
      maxItems: FACTS_MAX_NICS,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'mac', 'speedMbps'],
        properties: {
          name: shortText,
          mac: { type: ['string', 'null'], maxLength: 64 },
          speedMbps: { type: ['integer', 'null'], minimum: 0, maximum: 100_000_000 },
        },
      },
    },
  },
} as const

export const nodeEventInputSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['node', 'step'],
  properties: {
    node: {
      type: 'string',
      minLength: 1,
      maxLength: 253,
      pattern: EVENT_NODE.source,
      description: 'hostname or MAC address',
    },
    step: { type: 'string', enum: [...EVENT_STEPS] },
    percent: { type: 'number', minimum: 0, maximum: 100 },
    bytesDown: count,
    bytesUp: count,
    rateDown: { ...rate, description: 'bytes per second' },
    rateUp: { ...rate, description: 'bytes per second' },
    peers: { type: 'integer', minimum: 0, maximum: 1_000_000 },
    message: { type: 'string', maxLength: MESSAGE_MAX },
    code: { type: 'string', pattern: '^[A-Za-z0-9_.-]{1,100}$' },
    logTail: { type: 'array', maxItems: LOG_TAIL_MAX, items: { type: 'string', maxLength: LOG_LINE_MAX } },
    ts: { type: 'string', format: 'date-time' },
    bytesFromServer: { ...count, description: 'of the bytes down in this install: from the server (web seed)' },
    bytesFromPeers: { ...count, description: 'of the bytes down in this install: from other nodes' },
    facts: nodeFactsSchema,
  },
} as const

export const nodeEventSchema = {
  type: 'object',
  required: [...nodeEventInputSchema.required, 'receivedAt', 'ip'],
  properties: {
    ...nodeEventInputSchema.properties,
    receivedAt: { type: 'string', format: 'date-time' },
    ip: { type: 'string' },
  },
} as const

/** Keeps the newest `max` events (default 10,000) in memory; appends each to `file` as a JSON line if given. */
export function memoryEventSink(opts: { file?: string; max?: number } = {}): EventSink {
  const max = opts.max ?? 10_000
  const ring: NodeEvent[] = []
  let start = 0
  // One write at a time, in order: lines never interleave.
  let chain: Promise<void> = Promise.resolve()
  let dirMade = false
  const write = async (line: string) => {
    if (opts.file === undefined) return
    if (!dirMade) {
      await mkdir(dirname(opts.file), { recursive: true })
      dirMade = true
    }
    await appendFile(opts.file, line, { mode: 0o640 })
  }
  return {
    add(e: NodeEvent): Promise<void> {
      if (ring.length < max) ring.push(e)
      else {
        ring[start] = e
        start = (start + 1) % max
      }
      const p = chain.then(() => write(`${JSON.stringify(e)}\n`))
      chain = p.catch(() => undefined)
      return p
    },
    recent(limit: number, node?: string): NodeEvent[] {
      const out: NodeEvent[] = []
      for (let i = ring.length - 1; i >= 0 && out.length < limit; i--) {
        const e = ring[(start + i) % ring.length] as NodeEvent
        if (node === undefined || e.node === node) out.push(e)
      }
      return out.reverse()
    },
  }
}
