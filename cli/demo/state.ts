// What the demo knows about each node while the fleet reimages: merged from
// the server's events (percent, bytes, rates) and the node's console lines
// (steps, the moment it is installed), and the node's exit.
import type { NodeEvent } from './api.ts'

const ORDER = ['starting', 'config', 'disks', 'download', 'extract', 'overrides', 'identity', 'bootloader', 'seed']
const LAST = ['done', 'post']

export interface NodeState {
  name: string
  step: string
  /** Image download, 0-100. */
  percent: number
  bytesDown: number
  bytesUp: number
  rateDown: number
  peers: number
  /** Seconds from the start until the install was complete and verified. */
  installedAt: number | undefined
  exit: { code: number | null; signal: string | null } | undefined
  failed: string | undefined
}

export interface FleetState {
  startedAt: number
  nodes: NodeState[]
  /** Bytes the server's first seeder uploaded (GET /api/v1/seeder). */
  seederUploaded: number
  archiveBytes: number
}

export function newFleetState(names: string[], archiveBytes: number, startedAt: number): FleetState {
  return {
    startedAt,
    archiveBytes,
    seederUploaded: 0,
    nodes: names.map((name) => ({
      name,
      step: 'starting',
      percent: 0,
      bytesDown: 0,
      bytesUp: 0,
      rateDown: 0,
      peers: 0,
      installedAt: undefined,
      exit: undefined,
      failed: undefined,
    })),
  }
}

function rank(step: string): number {
  if (step === 'failed') return 100
  const i = ORDER.indexOf(step)
  if (i >= 0) return i
  return LAST.includes(step) ? ORDER.length + LAST.indexOf(step) : -1
}

/** Moves a node to `step` unless it is already further along. */
export function setStep(n: NodeState, step: string, now: number, startedAt: number): void {
  if (rank(step) < rank(n.step)) return
  n.step = step
  if (rank(step) > rank('download')) n.percent = 100
  if ((step === 'seed' || step === 'done') && n.installedAt === undefined) n.installedAt = (now - startedAt) / 1000
  if (step === 'seed' || LAST.includes(step)) n.rateDown = 0
}

/** Applies the server's events (oldest first), the newest per node winning. */
export function applyEvents(s: FleetState, events: NodeEvent[], now: number): void {
  const byName = new Map(s.nodes.map((n) => [n.name, n]))
  for (const e of events) {
    const n = byName.get(e.node)
    if (!n) continue
    if (e.step === 'failed') n.failed ??= `${e.code ?? 'failed'}: ${e.message ?? ''}`
    if (e.step === 'download' && e.percent !== undefined) n.percent = Math.max(n.percent, e.percent)
    if (e.bytesDown !== undefined) n.bytesDown = Math.max(n.bytesDown, e.bytesDown)
    if (e.bytesUp !== undefined) n.bytesUp = Math.max(n.bytesUp, e.bytesUp)
    if (e.rateDown !== undefined) n.rateDown = e.rateDown
    if (e.peers !== undefined) n.peers = e.peers
    setStep(n, e.step, now, s.startedAt)
  }
}

export interface Totals {
  installed: number
  failed: number
  down: number
  /** Bytes nodes uploaded to each other. */
  fromPeers: number
  /** Bytes that came from the server (first seeder and web seed). */
  fromServer: number
  rate: number
  meanPercent: number
}

export function totals(s: FleetState): Totals {
  let down = 0
  let up = 0
  let rate = 0
  let pct = 0
  for (const n of s.nodes) {
    down += n.bytesDown
    up += n.bytesUp
    rate += n.rateDown
    pct += n.percent
  }
  return {
    installed: s.nodes.filter((n) => n.installedAt !== undefined).length,
    failed: s.nodes.filter((n) => n.failed !== undefined || (n.exit !== undefined && n.exit.code !== 0)).length,
    down,
    fromPeers: Math.min(up, down),
    fromServer: Math.max(s.seederUploaded, down - up, 0),
    rate,
    meanPercent: s.nodes.length === 0 ? 0 : pct / s.nodes.length,
  }
}
