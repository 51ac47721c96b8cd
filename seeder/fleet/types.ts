// What the fleet API serves (docs/api.md, "Fleet"): the shapes the dashboard
// and `imgswarm status` read.
import type { NodeFacts } from '../../common/events.ts'
import type { NodeRow, NodeState } from '../../common/fleet.ts'
import type { NodeEvent } from '../api/events.ts'

export { type FleetSummary, NODE_STATES, type NodeRow, type NodeState } from '../../common/fleet.ts'
export type { NodeFacts }

export const INSTALL_RESULTS = ['running', 'verified', 'failed', 'cancelled'] as const
export type InstallResult = (typeof INSTALL_RESULTS)[number]

export interface InstallRow {
  id: number
  node: string
  image: string | null
  startedAt: string
  endedAt: string | null
  result: InstallResult
  code: string | null
  bytesFromServer: number
  bytesFromPeers: number
}

export interface StoredEvent extends NodeEvent {
  seq: number
}

export interface NodeDetail extends NodeRow {
  facts: NodeFacts | null
  /** The newest 200, oldest first. */
  events: StoredEvent[]
  installs: InstallRow[]
}

export interface FleetSample {
  t: string
  rateDown: number
  rateUp: number
  bytesFromServer: number
  bytesFromPeers: number
}

export interface NodeFilter {
  state?: NodeState | undefined
  group?: string | undefined
  /** Substring of the id, host name, MAC or IP. */
  q?: string | undefined
}

/** One inventory line (CSV import). */
export interface InventoryEntry {
  mac: string
  ip: string | null
  hostname: string | null
  group: string | null
  /** 1-based line in the source file. */
  line: number
}
