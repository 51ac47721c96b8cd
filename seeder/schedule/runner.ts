// What one run of a schedule does: a reimage asks for the group's reimage
// (as `imgswarm node reimage --group`) and then wakes or reboots each node
// into PXE with its power driver; poweroff and reboot go to the power driver
// alone; update goes to the node agent when the server has one. A reimage
// run stays open until every node has installed or failed, or it times out.
import type { PowerDriverName } from '../../common/config-schedule.ts'
import type { NodeRow } from '../../common/fleet.ts'
import { type Power, type PowerVerb, powerNodes } from '../power/index.ts'
import type { RunNode, RunResult, RunRow, ScheduleRow } from './types.ts'

/** What the scheduler needs of the fleet database (seeder/fleet's Fleet has it). */
export interface FleetView {
  requestGroupReimage(group: string, by?: string): NodeRow[]
  list(filter?: { group?: string | undefined }): NodeRow[]
  installs(
    node: string | undefined,
    limit: number,
  ): { id: number; node: string; image: string | null; result: string; code: string | null }[]
}

/** `node update` through the agents (UPDATE's seeder/update); absent: update schedules fail with a clear message. */
export type UpdateHook = (group: string, to: string, by: string) => Promise<{ nodes: string[] }>

export interface RunDeps {
  fleet: FleetView
  power: Power | undefined
  update: UpdateHook | undefined
}

export interface RunOutcome {
  result: RunResult
  message: string | null
  nodes: RunNode[]
}

async function powerAll(
  deps: RunDeps,
  rows: NodeRow[],
  op: PowerVerb,
  driver: PowerDriverName | null,
): Promise<{ nodes: RunNode[]; failed: number }> {
  if (!deps.power)
    return { nodes: rows.map((n) => ({ id: n.id, state: n.state, power: 'no power control configured' })), failed: 0 }
  const out = await powerNodes(deps.power, rows, op, driver ?? undefined)
  const nodes = rows.map((n, i): RunNode => {
    const r = out[i]
    const power = r?.ok ? `${r.driver}: ${r.done.join(', ') || 'nothing to do'}` : `error: ${r?.error?.message}`
    return { id: n.id, state: n.state, power }
  })
  return { nodes, failed: out.filter((r) => !r.ok).length }
}

const members = (fleet: FleetView, group: string) => fleet.list({ group }).filter((n) => n.state !== 'discovered')

/** Starts the run's action; a reimage comes back 'running' (track() closes it). */
export async function execute(deps: RunDeps, s: ScheduleRow, by: string): Promise<RunOutcome> {
  try {
    if (s.action === 'reimage') {
      const rows = deps.fleet.requestGroupReimage(s.group, by)
      const p = await powerAll(deps, rows, 'pxe', s.power)
      const msg = `reimage requested for ${rows.length} node(s)${p.failed ? `; power failed for ${p.failed}` : ''}`
      return { result: 'running', message: msg, nodes: p.nodes }
    }
    if (s.action === 'update') {
      if (!deps.update)
        return {
          result: 'failed',
          message: 'update needs the node agent (imgswarm node update), which this server does not offer',
          nodes: [],
        }
      const r = await deps.update(s.group, s.to ?? '', by)
      return {
        result: 'done',
        message: `update to ${s.to} started on ${r.nodes.length} node(s)`,
        nodes: r.nodes.map((id) => ({ id, state: 'update-requested' })),
      }
    }
    const rows = members(deps.fleet, s.group)
    if (rows.length === 0)
      return { result: 'failed', message: `no node in the inventory belongs to group ${s.group}`, nodes: [] }
    const p = await powerAll(deps, rows, s.action === 'poweroff' ? 'off' : 'reboot', s.power)
    const ok = rows.length - p.failed
    return {
      result: p.failed === 0 ? 'done' : ok === 0 ? 'failed' : 'partial',
      message: `${s.action} sent to ${ok} of ${rows.length} node(s)`,
      nodes: p.nodes,
    }
  } catch (e) {
    return { result: 'failed', message: (e as Error).message, nodes: [] }
  }
}

const FINISHED = new Set(['done', 'failed', 'idle', 'discovered', 'removed'])

/** Looks at an open reimage run's nodes: closed when all are done/failed (or cancelled, removed), or on timeout. */
export function track(fleet: FleetView, run: RunRow, now: Date, timeoutSec: number): RunOutcome | undefined {
  const byId = new Map(fleet.list({ group: run.group }).map((n) => [n.id, n]))
  const all = new Map(byId)
  if (run.nodes.some((n) => !all.has(n.id))) for (const n of fleet.list()) all.set(n.id, n)
  const nodes = run.nodes.map((n) => ({ ...n, state: all.get(n.id)?.state ?? 'removed' }))
  const done = nodes.filter((n) => n.state === 'done').length
  const failed = nodes.filter((n) => n.state === 'failed').length
  const changed = nodes.some((n, i) => n.state !== run.nodes[i]?.state)
  if (nodes.every((n) => FINISHED.has(n.state))) {
    const result: RunResult = done === nodes.length ? 'done' : done === 0 ? 'failed' : 'partial'
    return { result, message: `${done} of ${nodes.length} installed, ${failed} failed`, nodes }
  }
  if (now.getTime() - Date.parse(run.startedAt) > timeoutSec * 1000) {
    const open = nodes.filter((n) => !FINISHED.has(n.state)).map((n) => n.id)
    return {
      result: 'timeout',
      message: `${done} of ${nodes.length} installed after ${timeoutSec} s; still open: ${open.slice(0, 20).join(', ')}`,
      nodes,
    }
  }
  return changed ? { result: 'running', message: run.message, nodes } : undefined
}
