// Progress events: what an installing node posts to POST /api/v1/events.
// Shared by the server (schema, storage) and the client (reporting).

export const EVENT_STEPS = [
  'config',
  'disks',
  'download',
  'extract',
  'overrides',
  'identity',
  'bootloader',
  'seed',
  'post',
  'done',
  'failed',
] as const
export type EventStep = (typeof EVENT_STEPS)[number]

export const MESSAGE_MAX = 4096
export const LOG_TAIL_MAX = 50
export const LOG_LINE_MAX = 1024
/** The `node` field: a host name or a MAC address. */
export const EVENT_NODE = /^[A-Za-z0-9][A-Za-z0-9.:_-]*$/

/** What a node posts. */
export interface NodeEventInput {
  /** Hostname or MAC address of the node. */
  node: string
  step: EventStep
  percent?: number
  bytesDown?: number
  bytesUp?: number
  /** Bytes per second. */
  rateDown?: number
  rateUp?: number
  peers?: number
  message?: string
  /** An ImgswarmError code when step is `failed`. */
  code?: string
  logTail?: string[]
  /** The node's clock (ISO 8601); may be wrong on a fresh boot, hence receivedAt. */
  ts?: string
  /** Of bytesDown so far in this install: bytes from the server (its web seed) and from other nodes. */
  bytesFromServer?: number
  bytesFromPeers?: number
  /** Hardware facts, sent once with the `config` step (client/report/facts.ts). */
  facts?: NodeFacts
}

/** Limits on reported hardware facts: a hostile node cannot fill the database. */
export const FACTS_MAX_DISKS = 64
export const FACTS_MAX_NICS = 64
export const FACTS_NAME_MAX = 64
export const FACTS_MODEL_MAX = 256

/** CPU, memory, disks and NICs as the install client reads them from /proc and /sys. */
export interface NodeFacts {
  cpu: { model: string; count: number }
  memoryBytes: number
  disks: { name: string; sizeBytes: number; model: string | null }[]
  nics: { name: string; mac: string | null; speedMbps: number | null }[]
}
