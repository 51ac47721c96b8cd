// What one node event does to the fleet database: the event row, the node's
// live progress and state, and the install history. Called inside the
// writer's transaction (see writer.ts), so the three change together.
import type { DatabaseSync } from 'node:sqlite'
import type { NodeEvent } from '../api/events.ts'
import { normalizeHostname, normalizeIp, normalizeMac } from '../plans/index.ts'
import { byHostname, byMac, type DbNode, insertNode, nodeId, sql } from './nodes.ts'

/** Steps that mean an install is under way: one opens an install if none is running (the server may have missed `config`). */
const OPENING = new Set(['disks', 'download', 'extract', 'overrides', 'identity', 'bootloader'])

/** Code given to an install that a node started again before ending it. */
export const RESTARTED = 'IMGSWARM_ERR_INSTALL_RESTARTED'

export interface Applied {
  pk: number
  seq: number
  /** The install the event opened, changed or closed. */
  installId: number | undefined
}

function findOrCreate(db: DatabaseSync, e: NodeEvent, now: string): DbNode {
  const mac = normalizeMac(e.node)
  if (mac !== undefined) return byMac(db, mac) ?? insertNode(db, node(null, mac, e), now)
  const host = normalizeHostname(e.node) ?? e.node.toLowerCase()
  return byHostname(db, host) ?? insertNode(db, node(host, null, e), now)
}

const node = (hostname: string | null, mac: string | null, e: NodeEvent) => ({
  hostname,
  mac,
  ip: normalizeIp(e.ip) ?? null,
  state: 'installing' as const,
  discovered: false,
})

function runningInstall(db: DatabaseSync, pk: number): number | undefined {
  const r = sql(db, "SELECT id FROM installs WHERE node_pk = ? AND result = 'running' ORDER BY id DESC LIMIT 1").get(
    pk,
  ) as { id: number } | undefined
  return r?.id
}

function openInstall(db: DatabaseSync, n: DbNode, now: string): number {
  const r = sql(db, 'INSERT INTO installs (node_pk, node, image, started_at) VALUES (?, ?, ?, ?)').run(
    n.pk,
    nodeId(n),
    n.image,
    now,
  )
  return Number(r.lastInsertRowid)
}

function closeInstall(db: DatabaseSync, id: number, result: string, code: string | null, now: string): void {
  sql(db, "UPDATE installs SET result = ?, code = ?, ended_at = ? WHERE id = ? AND result = 'running'").run(
    result,
    code,
    now,
    id,
  )
}

export function applyEvent(db: DatabaseSync, e: NodeEvent, now: string): Applied {
  const n = findOrCreate(db, e, now)
  const { facts, ...rest } = e
  const seq = Number(
    sql(db, 'INSERT INTO events (node_pk, node, step, received_at, ip, body) VALUES (?, ?, ?, ?, ?, ?)').run(
      n.pk,
      e.node,
      e.step,
      e.receivedAt,
      e.ip,
      JSON.stringify(rest),
    ).lastInsertRowid,
  )

  // Install history.
  let installId = runningInstall(db, n.pk)
  if (e.step === 'config') {
    if (installId !== undefined) closeInstall(db, installId, 'failed', RESTARTED, now)
    installId = openInstall(db, n, now)
  } else if (installId === undefined && (OPENING.has(e.step) || e.step === 'done' || e.step === 'failed')) {
    installId = openInstall(db, n, now)
  }
  if (installId !== undefined) {
    if (e.bytesFromServer !== undefined || e.bytesFromPeers !== undefined) {
      sql(
        db,
        'UPDATE installs SET bytes_from_server = MAX(bytes_from_server, ?), bytes_from_peers = MAX(bytes_from_peers, ?) WHERE id = ?',
      ).run(e.bytesFromServer ?? 0, e.bytesFromPeers ?? 0, installId)
    }
    if (e.step === 'done') {
      closeInstall(db, installId, 'verified', null, now)
      // A verified install answers the pending reimage request: the next boot is from the local disk.
      sql(db, "UPDATE actions SET status = 'done', closed_at = ? WHERE node_pk = ? AND status = 'pending'").run(
        now,
        n.pk,
      )
    } else if (e.step === 'failed') {
      closeInstall(db, installId, 'failed', e.code ?? null, now)
    }
  }

  // The node's live view. `post` follows `done`: the node stays done.
  const state =
    e.step === 'done'
      ? 'done'
      : e.step === 'failed'
        ? 'failed'
        : e.step === 'post' && n.state === 'done'
          ? 'done'
          : 'installing'
  const fresh = e.step === 'config'
  const stopped = fresh || e.step === 'done' || e.step === 'failed'
  sql(
    db,
    `UPDATE nodes SET state = ?, ip = COALESCE(?, ip), last_seen = ?, step = ?,
       percent = CASE WHEN ? THEN NULL ELSE COALESCE(?, percent) END,
       bytes_down = CASE WHEN ? THEN 0 ELSE COALESCE(?, bytes_down) END,
       bytes_up = CASE WHEN ? THEN 0 ELSE COALESCE(?, bytes_up) END,
       rate_down = COALESCE(?, CASE WHEN ? THEN 0 ELSE rate_down END),
       rate_up = COALESCE(?, CASE WHEN ? THEN 0 ELSE rate_up END),
       peers = COALESCE(?, peers), message = COALESCE(?, message),
       code = CASE WHEN ? = 'failed' THEN ? WHEN ? THEN NULL ELSE code END,
       facts = COALESCE(?, facts)
     WHERE pk = ?`,
  ).run(
    state,
    normalizeIp(e.ip) ?? null,
    now,
    e.step,
    fresh ? 1 : 0,
    e.percent ?? null,
    fresh ? 1 : 0,
    e.bytesDown ?? null,
    fresh ? 1 : 0,
    e.bytesUp ?? null,
    e.rateDown ?? null,
    stopped ? 1 : 0,
    e.rateUp ?? null,
    stopped ? 1 : 0,
    e.peers ?? null,
    e.message ?? null,
    e.step,
    e.code ?? null,
    fresh ? 1 : 0,
    facts === undefined ? null : JSON.stringify(facts),
    n.pk,
  )
  return { pk: n.pk, seq, installId }
}
