// Reads for the API: node lists, one node's detail, events, installs and
// the fleet totals.
import type { DatabaseSync } from 'node:sqlite'
import type { NodeEvent } from '../api/events.ts'
import { byPk, type DbNode, factsOf, sql, toRow } from './nodes.ts'
import {
  type FleetSummary,
  type InstallRow,
  NODE_STATES,
  type NodeDetail,
  type NodeFilter,
  type NodeRow,
  type NodeState,
  type StoredEvent,
} from './types.ts'

/** A node whose last event is older than this does not count towards the fleet's current rates. */
export const LIVE_MS = 30_000

export function listNodes(db: DatabaseSync, f: NodeFilter = {}): NodeRow[] {
  const where: string[] = []
  const args: (string | number)[] = []
  if (f.state !== undefined) {
    where.push('state = ?')
    args.push(f.state)
  }
  if (f.group !== undefined) {
    where.push('grp = ?')
    args.push(f.group)
  }
  if (f.q !== undefined && f.q !== '') {
    where.push("(instr(lower(coalesce(hostname, '')), ?) OR instr(coalesce(mac, ''), ?) OR instr(coalesce(ip, ''), ?))")
    const q = f.q.toLowerCase()
    args.push(q, q, q)
  }
  const text = `SELECT * FROM nodes${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY coalesce(hostname, mac)`
  return (sql(db, text).all(...args) as unknown as DbNode[]).map(toRow)
}

export function nodeRows(db: DatabaseSync, pks: Iterable<number>): NodeRow[] {
  const out: NodeRow[] = []
  for (const pk of pks) {
    const n = byPk(db, pk)
    if (n) out.push(toRow(n))
  }
  return out
}

interface DbEvent {
  seq: number
  body: string
  received_at: string
  ip: string
}

const toEvent = (r: DbEvent): StoredEvent => ({
  ...(JSON.parse(r.body) as NodeEvent),
  receivedAt: r.received_at,
  ip: r.ip,
  seq: Number(r.seq),
})

/** A node's events after `after` (oldest first), or its newest `limit` when after is undefined. */
export function nodeEvents(db: DatabaseSync, pk: number, after: number | undefined, limit: number): StoredEvent[] {
  if (after !== undefined) {
    return (
      sql(db, 'SELECT seq, body, received_at, ip FROM events WHERE node_pk = ? AND seq > ? ORDER BY seq LIMIT ?').all(
        pk,
        after,
        limit,
      ) as unknown as DbEvent[]
    ).map(toEvent)
  }
  return (
    sql(db, 'SELECT seq, body, received_at, ip FROM events WHERE node_pk = ? ORDER BY seq DESC LIMIT ?').all(
      pk,
      limit,
    ) as unknown as DbEvent[]
  )
    .reverse()
    .map(toEvent)
}

/** The newest `limit` events (of one node as it reported itself, if given), oldest first. */
export function recentEvents(db: DatabaseSync, limit: number, node?: string): StoredEvent[] {
  const rows = (node === undefined
    ? sql(db, 'SELECT seq, body, received_at, ip FROM events ORDER BY seq DESC LIMIT ?').all(limit)
    : sql(db, 'SELECT seq, body, received_at, ip FROM events WHERE node = ? ORDER BY seq DESC LIMIT ?').all(
        node,
        limit,
      )) as unknown as DbEvent[]
  return rows.reverse().map(toEvent)
}

interface DbInstall {
  id: number
  node: string
  image: string | null
  started_at: string
  ended_at: string | null
  result: InstallRow['result']
  code: string | null
  bytes_from_server: number
  bytes_from_peers: number
}

const toInstall = (r: DbInstall): InstallRow => ({
  id: Number(r.id),
  node: r.node,
  image: r.image,
  startedAt: r.started_at,
  endedAt: r.ended_at,
  result: r.result,
  code: r.code,
  bytesFromServer: Number(r.bytes_from_server),
  bytesFromPeers: Number(r.bytes_from_peers),
})

/** Newest first. */
export function listInstalls(db: DatabaseSync, pk: number | undefined, limit: number): InstallRow[] {
  const rows =
    pk === undefined
      ? sql(db, 'SELECT * FROM installs ORDER BY id DESC LIMIT ?').all(limit)
      : sql(db, 'SELECT * FROM installs WHERE node_pk = ? ORDER BY id DESC LIMIT ?').all(pk, limit)
  return (rows as unknown as DbInstall[]).map(toInstall)
}

export function installById(db: DatabaseSync, id: number): InstallRow | undefined {
  const r = sql(db, 'SELECT * FROM installs WHERE id = ?').get(id) as DbInstall | undefined
  return r ? toInstall(r) : undefined
}

export function nodeDetail(db: DatabaseSync, n: DbNode): NodeDetail {
  return {
    ...toRow(n),
    facts: factsOf(n),
    events: nodeEvents(db, n.pk, undefined, 200),
    installs: listInstalls(db, n.pk, 100),
  }
}

export function fleetSummary(db: DatabaseSync, now = Date.now()): FleetSummary {
  const counts = Object.fromEntries(NODE_STATES.map((s) => [s, 0])) as Record<NodeState, number>
  for (const r of sql(db, 'SELECT state, count(*) AS n FROM nodes GROUP BY state').all() as {
    state: NodeState
    n: number
  }[])
    counts[r.state] = Number(r.n)
  const live = new Date(now - LIVE_MS).toISOString()
  const rates = sql(
    db,
    "SELECT coalesce(sum(rate_down), 0) AS d, coalesce(sum(rate_up), 0) AS u FROM nodes WHERE state = 'installing' AND last_seen > ?",
  ).get(live) as { d: number; u: number }
  const bytes = sql(
    db,
    'SELECT coalesce(sum(bytes_from_server), 0) AS s, coalesce(sum(bytes_from_peers), 0) AS p FROM installs',
  ).get() as { s: number; p: number }
  return {
    counts,
    rateDown: Number(rates.d),
    rateUp: Number(rates.u),
    bytesFromServer: Number(bytes.s),
    bytesFromPeers: Number(bytes.p),
  }
}
