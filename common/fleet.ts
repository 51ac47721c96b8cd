// The fleet API's node and summary shapes (docs/api.md, "Fleet"): served by
// seeder/fleet, read by `imgswarm status` (cli/status) and the dashboard.

export const NODE_STATES = ['discovered', 'idle', 'reimage-requested', 'installing', 'done', 'failed'] as const
export type NodeState = (typeof NODE_STATES)[number]

export interface NodeRow {
  /** The host name if known, else the MAC (lowercase, colon-separated). */
  id: string
  hostname: string | null
  mac: string | null
  ip: string | null
  group: string | null
  state: NodeState
  step: string | null
  percent: number | null
  bytesDown: number
  bytesUp: number
  /** Bytes per second. */
  rateDown: number
  rateUp: number
  peers: number
  etaSec: number | null
  /** NAME@VERSION of the current or last install (or the last plan served). */
  image: string | null
  lastSeen: string | null
  message: string | null
  code: string | null
}

export interface FleetSummary {
  counts: Record<NodeState, number>
  rateDown: number
  rateUp: number
  bytesFromServer: number
  bytesFromPeers: number
}
