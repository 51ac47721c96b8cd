// What operators and booting nodes change: reimage requests, cancels,
// adoption, removal, the per-MAC boot decision and the inventory import.
// Each runs in one transaction; the caller tells the stream what changed.
import type { DatabaseSync } from 'node:sqlite'
import { errors } from '../../common/errors.ts'
import { normalizeHostname, normalizeIp, normalizeMac } from '../plans/index.ts'
import { transaction } from './db.ts'
import { byHostname, byId, byMac, type DbNode, insertNode, nodeId, setState, sql } from './nodes.ts'
import type { InventoryEntry } from './types.ts'

export function mustFind(db: DatabaseSync, id: string): DbNode {
  const n = byId(db, id)
  if (!n) throw errors.nodeNotFound(id)
  return n
}

function pendingReimage(db: DatabaseSync, pk: number): boolean {
  return (
    sql(db, "SELECT 1 AS x FROM actions WHERE node_pk = ? AND kind = 'reimage' AND status = 'pending' LIMIT 1").get(
      pk,
    ) !== undefined
  )
}

function addAction(db: DatabaseSync, pk: number, kind: string, by: string, now: string, status = 'pending'): void {
  sql(
    db,
    'INSERT INTO actions (node_pk, kind, requested_by, requested_at, status, closed_at) VALUES (?, ?, ?, ?, ?, ?)',
  ).run(pk, kind, by, now, status, status === 'pending' ? null : now)
}

function reimageIn(db: DatabaseSync, n: DbNode, by: string, now: string): void {
  if (n.discovered) throw errors.notAdopted(nodeId(n))
  if (!pendingReimage(db, n.pk)) addAction(db, n.pk, 'reimage', by, now)
  setState(db, n.pk, 'reimage-requested')
}

/** Asks for a reimage at the node's next network boot. */
export function requestReimage(db: DatabaseSync, id: string, by: string): number {
  return transaction(db, () => {
    const n = mustFind(db, id)
    reimageIn(db, n, by, new Date().toISOString())
    return n.pk
  })
}

/**
 * Every node of `group`, all or none: those adopted or imported into it, and
 * the inventory's known (not discovered) nodes that the cluster config puts
 * in it (`inConfig`).
 */
export function requestGroupReimage(
  db: DatabaseSync,
  group: string,
  by: string,
  inConfig?: (n: DbNode) => boolean,
): number[] {
  return transaction(db, () => {
    const all = (inConfig
      ? sql(db, 'SELECT * FROM nodes ORDER BY pk').all()
      : sql(db, 'SELECT * FROM nodes WHERE grp = ? ORDER BY pk').all(group)) as unknown as DbNode[]
    const nodes = all.filter((n) => n.grp === group || (inConfig !== undefined && !n.discovered && inConfig(n)))
    if (nodes.length === 0) throw errors.groupEmpty(group)
    const now = new Date().toISOString()
    for (const n of nodes) reimageIn(db, n, by, now)
    return nodes.map((n) => n.pk)
  })
}

/** Withdraws a pending reimage and marks a running install cancelled; returns the cancelled install, if any. */
export function cancel(db: DatabaseSync, id: string, by: string): { pk: number; installId: number | undefined } {
  return transaction(db, () => {
    const n = mustFind(db, id)
    const now = new Date().toISOString()
    sql(
      db,
      "UPDATE actions SET status = 'cancelled', closed_at = ? WHERE node_pk = ? AND kind = 'reimage' AND status = 'pending'",
    ).run(now, n.pk)
    addAction(db, n.pk, 'cancel', by, now, 'done')
    const run = sql(
      db,
      "SELECT id FROM installs WHERE node_pk = ? AND result = 'running' ORDER BY id DESC LIMIT 1",
    ).get(n.pk) as { id: number } | undefined
    if (run) sql(db, "UPDATE installs SET result = 'cancelled', ended_at = ? WHERE id = ?").run(now, run.id)
    if (n.state === 'reimage-requested' || n.state === 'installing') {
      setState(db, n.pk, n.discovered ? 'discovered' : 'idle')
      sql(db, 'UPDATE nodes SET rate_down = 0, rate_up = 0 WHERE pk = ?').run(n.pk)
    }
    return { pk: n.pk, installId: run?.id }
  })
}

/** Takes a (discovered) node into a group; it can be reimaged from then on. */
export function adopt(db: DatabaseSync, id: string, group: string, by: string): number {
  return transaction(db, () => {
    const n = mustFind(db, id)
    sql(db, 'UPDATE nodes SET grp = ?, discovered = 0 WHERE pk = ?').run(group, n.pk)
    if (n.state === 'discovered') setState(db, n.pk, 'idle')
    addAction(db, n.pk, 'adopt', by, new Date().toISOString(), 'done')
    return n.pk
  })
}

/** Removes the node from the inventory; its events and installs stay in the history. */
export function remove(db: DatabaseSync, id: string): DbNode {
  return transaction(db, () => {
    const n = mustFind(db, id)
    sql(db, 'DELETE FROM nodes WHERE pk = ?').run(n.pk)
    return n
  })
}

export type BootAction = 'reimage' | 'local'

/**
 * The network boot decision for a MAC: reimage when one is requested, else
 * the local disk. An unknown MAC is recorded as discovered; it is reimaged
 * only when `autoEnrol` names a group for it (it then joins that group).
 */
export function bootAction(
  db: DatabaseSync,
  macIn: string,
  ipIn: string | undefined,
  autoEnrol: (mac: string, ip: string | undefined) => string | undefined,
): { action: BootAction; pk: number | undefined } {
  const mac = normalizeMac(macIn)
  if (mac === undefined) return { action: 'local', pk: undefined }
  const ip = ipIn === undefined ? undefined : normalizeIp(ipIn)
  return transaction(db, () => {
    const now = new Date().toISOString()
    let n = byMac(db, mac)
    if (!n) n = insertNode(db, { hostname: null, mac, ip: ip ?? null, state: 'discovered', discovered: true }, now)
    else sql(db, 'UPDATE nodes SET last_seen = ?, ip = COALESCE(?, ip) WHERE pk = ?').run(now, ip ?? null, n.pk)
    if (pendingReimage(db, n.pk)) return { action: 'reimage', pk: n.pk }
    if (n.discovered) {
      const group = autoEnrol(mac, ip)
      if (group !== undefined) {
        sql(db, 'UPDATE nodes SET grp = ?, discovered = 0 WHERE pk = ?').run(group, n.pk)
        addAction(db, n.pk, 'reimage', `auto-enrol:${group}`, now)
        setState(db, n.pk, 'reimage-requested')
        return { action: 'reimage', pk: n.pk }
      }
    }
    return { action: 'local', pk: n.pk }
  })
}

/** The node a plan query names (by MAC, then host name), without writing anything. */
export function findPlanNode(
  db: DatabaseSync,
  q: { mac?: string | undefined; hostname?: string | undefined },
): DbNode | undefined {
  const mac = q.mac === undefined ? undefined : normalizeMac(q.mac)
  const host = q.hostname === undefined ? undefined : normalizeHostname(q.hostname)
  return (mac && byMac(db, mac)) || (host && byHostname(db, host)) || undefined
}

/**
 * A node asked for its plan: an unknown MAC is recorded as discovered (a
 * commit of its own); a known node's last_seen and ip go to `touch`, which
 * the fleet hands to the event writer's next batch: a commit per plan fetch
 * would cost an fsync each (synchronous=FULL) and block the event loop.
 * Returns the node (for its group).
 */
export function planRequested(
  db: DatabaseSync,
  q: { mac?: string | undefined; hostname?: string | undefined; ip?: string | undefined },
  touch: (pk: number, ip: string | null, at: string) => void,
): DbNode | undefined {
  const mac = q.mac === undefined ? undefined : normalizeMac(q.mac)
  const host = q.hostname === undefined ? undefined : normalizeHostname(q.hostname)
  const ip = q.ip === undefined ? null : (normalizeIp(q.ip) ?? null)
  const now = new Date().toISOString()
  const known = findPlanNode(db, q)
  if (known) {
    touch(known.pk, ip, now)
    return known
  }
  if (mac === undefined) return undefined
  return transaction(db, () => {
    // Looked up again inside the write lock: another process (the CLI) may have added it.
    const n = byMac(db, mac)
    if (n) {
      sql(db, 'UPDATE nodes SET last_seen = ?, ip = COALESCE(?, ip) WHERE pk = ?').run(now, ip, n.pk)
      return n
    }
    return insertNode(db, { hostname: host ?? null, mac, ip, state: 'discovered', discovered: true }, now)
  })
}

/**
 * Remembers the image a node's plan named (its next install is of it, and an
 * install its `config` event opened before the plan was served gets it too),
 * and the plan's host name for a node known only by MAC: the client names
 * itself by MAC until it has its plan, then by host name, and both must land
 * on one node.
 */
export function planServed(db: DatabaseSync, pk: number, image: string, hostname: string | undefined): void {
  transaction(db, () => {
    // Only what changes is written: a repeated plan fetch then commits nothing (and costs no fsync).
    sql(db, 'UPDATE nodes SET image = ? WHERE pk = ? AND image IS NOT ?').run(image, pk, image)
    sql(db, "UPDATE installs SET image = ? WHERE node_pk = ? AND result = 'running' AND image IS NULL").run(image, pk)
    const h = hostname === undefined ? undefined : normalizeHostname(hostname)
    if (h !== undefined && normalizeMac(h) === undefined && !byHostname(db, h)) {
      const named = sql(db, 'UPDATE nodes SET hostname = ? WHERE pk = ? AND hostname IS NULL').run(h, pk)
      if (Number(named.changes) > 0) {
        sql(db, "UPDATE installs SET node = ? WHERE node_pk = ? AND result = 'running'").run(h, pk)
      }
    }
  })
}

/** Adds or updates inventory entries, all or none; returns the pks touched. */
export function importInventory(db: DatabaseSync, file: string, entries: InventoryEntry[]): number[] {
  return transaction(db, () => {
    const now = new Date().toISOString()
    const pks: number[] = []
    for (const e of entries) {
      const byM = byMac(db, e.mac)
      const byH = e.hostname === null ? undefined : byHostname(db, e.hostname)
      if (byH && byM && byH.pk !== byM.pk) {
        throw errors.csv(file, e.line, `host name ${e.hostname} belongs to another node (mac ${byH.mac ?? 'none'})`)
      }
      if (byH && !byM && byH.mac !== null) {
        throw errors.csv(file, e.line, `host name ${e.hostname} belongs to the node with mac ${byH.mac}`)
      }
      const n = byM ?? byH
      if (!n) {
        const made = insertNode(
          db,
          { hostname: e.hostname, mac: e.mac, ip: e.ip, state: 'idle', discovered: false },
          now,
        )
        if (e.group !== null) sql(db, 'UPDATE nodes SET grp = ? WHERE pk = ?').run(e.group, made.pk)
        pks.push(made.pk)
        continue
      }
      sql(
        db,
        `UPDATE nodes SET mac = ?, ip = COALESCE(?, ip), hostname = COALESCE(?, hostname), grp = COALESCE(?, grp),
           discovered = 0, state = CASE WHEN state = 'discovered' THEN 'idle' ELSE state END WHERE pk = ?`,
      ).run(e.mac, e.ip, e.hostname, e.group, n.pk)
      pks.push(n.pk)
    }
    return pks
  })
}
