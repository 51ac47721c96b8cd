// Node rows: finding a node by its id (host name or MAC), creating one, and
// turning a row of the nodes table into the API's NodeRow.
import type { DatabaseSync, StatementSync } from 'node:sqlite'
import { normalizeHostname, normalizeMac } from '../plans/index.ts'
import type { NodeFacts, NodeRow, NodeState } from './types.ts'

const cache = new WeakMap<DatabaseSync, Map<string, StatementSync>>()

/** A prepared statement, prepared once per database. */
export function sql(db: DatabaseSync, text: string): StatementSync {
  let m = cache.get(db)
  if (!m) {
    m = new Map()
    cache.set(db, m)
  }
  let s = m.get(text)
  if (!s) {
    s = db.prepare(text)
    m.set(text, s)
  }
  return s
}

export interface DbNode {
  pk: number
  hostname: string | null
  mac: string | null
  ip: string | null
  grp: string | null
  state: NodeState
  discovered: number
  first_seen: string | null
  last_seen: string | null
  image: string | null
  step: string | null
  percent: number | null
  bytes_down: number
  bytes_up: number
  rate_down: number
  rate_up: number
  peers: number
  message: string | null
  code: string | null
  facts: string | null
}

export const nodeId = (n: { hostname: string | null; mac: string | null }): string => (n.hostname ?? n.mac) as string

/** Remaining seconds of a download at the current rate, when that can be told. */
function eta(n: DbNode): number | null {
  if (n.state !== 'installing' || n.percent === null || n.rate_down <= 0 || n.bytes_down <= 0) return null
  if (n.percent <= 0 || n.percent >= 100) return null
  const total = (n.bytes_down * 100) / n.percent
  return Math.round((total - n.bytes_down) / n.rate_down)
}

export function toRow(n: DbNode): NodeRow {
  return {
    id: nodeId(n),
    hostname: n.hostname,
    mac: n.mac,
    ip: n.ip,
    group: n.grp,
    state: n.state,
    step: n.step,
    percent: n.percent,
    bytesDown: Number(n.bytes_down),
    bytesUp: Number(n.bytes_up),
    rateDown: n.rate_down,
    rateUp: n.rate_up,
    peers: Number(n.peers),
    etaSec: eta(n),
    image: n.image,
    lastSeen: n.last_seen,
    message: n.message,
    code: n.code,
  }
}

export function factsOf(n: DbNode): NodeFacts | null {
  if (n.facts === null) return null
  try {
    return JSON.parse(n.facts) as NodeFacts
  } catch {
    return null
  }
}

export function byPk(db: DatabaseSync, pk: number): DbNode | undefined {
  return sql(db, 'SELECT * FROM nodes WHERE pk = ?').get(pk) as DbNode | undefined
}

export function byMac(db: DatabaseSync, mac: string): DbNode | undefined {
  return sql(db, 'SELECT * FROM nodes WHERE mac = ?').get(mac) as DbNode | undefined
}

export function byHostname(db: DatabaseSync, hostname: string): DbNode | undefined {
  return sql(db, 'SELECT * FROM nodes WHERE hostname = ?').get(hostname) as DbNode | undefined
}

/** By id as the API names nodes: a MAC (any spelling) or a host name. */
export function byId(db: DatabaseSync, id: string): DbNode | undefined {
  const mac = normalizeMac(id)
  if (mac !== undefined) {
    const n = byMac(db, mac)
    if (n) return n
  }
  const h = normalizeHostname(id)
  return h === undefined ? undefined : byHostname(db, h)
}

export function insertNode(
  db: DatabaseSync,
  n: { hostname: string | null; mac: string | null; ip: string | null; state: NodeState; discovered: boolean },
  now: string,
): DbNode {
  const r = sql(
    db,
    'INSERT INTO nodes (hostname, mac, ip, state, discovered, created_at, first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
  ).run(n.hostname, n.mac, n.ip, n.state, n.discovered ? 1 : 0, now, now, now)
  return byPk(db, Number(r.lastInsertRowid)) as DbNode
}

export function setState(db: DatabaseSync, pk: number, state: NodeState): void {
  sql(db, 'UPDATE nodes SET state = ? WHERE pk = ?').run(state, pk)
}
