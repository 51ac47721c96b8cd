// Node credentials and agent jobs (fleet schema v4; docs/agent.md,
// docs/security.md "Node credentials"). Every plan the server signs for a
// node carries a one-time enrol token (enrol-token.ts) bound to that node (its
// MAC, or its host name when it asked without one), the address that asked
// and the image of the plan. At the end of the install the node makes an
// ed25519 key pair and registers the public key with the token, signing the
// request with the new key (proof of possession). A token enrols once, and
// every token issued before it dies with it. The private key never leaves
// the node. Revocation: `node rm` deletes the node (and its key, ON DELETE
// CASCADE); `node reimage` adds a newer reimage action, and a key enrolled
// before it stops working at once.
import type { DatabaseSync } from 'node:sqlite'
import { errors } from '../../common/errors.ts'
import { nodeKeyId, publicKeyFromRaw } from '../../common/node-auth.ts'
import { normalizeHostname, normalizeIp, normalizeMac } from '../plans/index.ts'
import { transaction } from './db.ts'
import { mintToken, readToken } from './enrol-token.ts'
import { byHostname, byId, byMac, type DbNode, insertNode, nodeId, sql } from './nodes.ts'

/** How long a plan's enrol token is good for: longer than any install. */
export const ENROL_TOKEN_MS = 24 * 3600_000

export const JOB_KINDS = ['update', 'push-overrides', 'fetch'] as const
export type JobKind = (typeof JOB_KINDS)[number]
export const JOB_STATUSES = ['pending', 'running', 'done', 'failed', 'cancelled'] as const
export type JobStatus = (typeof JOB_STATUSES)[number]

export interface EnrolRequest {
  /** The plan's enrol token. */
  token: string
  mac?: string | undefined
  hostname?: string | undefined
  /** Raw 32-byte ed25519 public key, base64 (the request's signature was already checked with it). */
  publicKey: string
  /** NAME@VER the node was just installed with. */
  image: string
  ip: string
}

export interface TokenQuery {
  mac?: string | undefined
  hostname?: string | undefined
  ip: string
}

export interface NodeCredential {
  pk: number
  node: string
  keyId: string
  publicKey: string
  image: string | null
  enrolledAt: string
}

export interface AgentJob {
  id: number
  node: string
  kind: JobKind
  params: Record<string, unknown>
  status: JobStatus
  requestedBy: string
  requestedAt: string
  startedAt: string | null
  endedAt: string | null
  result: Record<string, unknown> | null
}

interface CredRow {
  node_pk: number
  key_id: string
  public_key: string
  action_id: number
  token_issued: number
  enrolled_at: string
  image: string | null
}

interface JobRow {
  id: number
  node_pk: number
  kind: JobKind
  params: string
  status: JobStatus
  requested_by: string
  requested_at: string
  started_at: string | null
  ended_at: string | null
  result: string | null
  hostname: string | null
  mac: string | null
}

/** The node a plan is served to: by MAC, else by host name; a node the plans name by host name only gets a row. */
function planNode(db: DatabaseSync, q: TokenQuery): DbNode | undefined {
  const m = q.mac === undefined ? undefined : normalizeMac(q.mac)
  const h = q.hostname === undefined ? undefined : normalizeHostname(q.hostname)
  const found = (m && byMac(db, m)) || (h && byHostname(db, h)) || undefined
  if (found || m !== undefined || h === undefined) return found
  const now = new Date().toISOString()
  return insertNode(
    db,
    { hostname: h, mac: null, ip: normalizeIp(q.ip) ?? null, state: 'idle', discovered: false },
    now,
  )
}

const latestReimage = (db: DatabaseSync, pk: number): number =>
  (sql(db, "SELECT max(id) AS id FROM actions WHERE node_pk = ? AND kind = 'reimage'").get(pk) as { id: number | null })
    .id ?? 0

const toJob = (r: JobRow): AgentJob => ({
  id: r.id,
  node: nodeId(r),
  kind: r.kind,
  params: JSON.parse(r.params) as Record<string, unknown>,
  status: r.status,
  requestedBy: r.requested_by,
  requestedAt: r.requested_at,
  startedAt: r.started_at,
  endedAt: r.ended_at,
  result: r.result === null ? null : (JSON.parse(r.result) as Record<string, unknown>),
})

const JOB_SELECT = 'SELECT j.*, n.hostname, n.mac FROM agent_jobs j JOIN nodes n ON n.pk = j.node_pk'

export interface Credentials {
  /** A fresh one-time enrol token for the node this plan is served to; undefined when no node can be named. */
  issueToken(q: TokenQuery, image: string): string | undefined
  /** Registers a node's public key with a token of its signed plan (once); throws IMGSWARM_ERR_ENROL_REFUSED. */
  enrol(r: EnrolRequest): NodeCredential
  /** The credential with this key id, if it is still valid (not revoked by a newer reimage request). */
  byKeyId(keyId: string): NodeCredential | undefined
  /** The credential of a node (by id), valid or not; undefined if none. */
  ofNode(id: string): (NodeCredential & { revoked: boolean }) | undefined
  /** Records the image version a node now runs (after an update). */
  setImage(pk: number, image: string): void
  touch(pk: number): void

  addJob(id: string, kind: JobKind, params: Record<string, unknown>, by: string): AgentJob
  /** The node's pending jobs, now marked running (the agent runs them in id order). */
  claimJobs(pk: number): AgentJob[]
  finishJob(pk: number, jobId: number, status: 'done' | 'failed', result: Record<string, unknown>): AgentJob
  job(jobId: number): AgentJob | undefined
  jobs(node: string | undefined, limit: number): AgentJob[]
}

export function createCredentials(db: DatabaseSync): Credentials {
  const valid = (c: CredRow): boolean =>
    sql(db, "SELECT 1 AS x FROM actions WHERE node_pk = ? AND kind = 'reimage' AND id > ? LIMIT 1").get(
      c.node_pk,
      c.action_id,
    ) === undefined
  const toCred = (c: CredRow): NodeCredential => {
    const n = sql(db, 'SELECT * FROM nodes WHERE pk = ?').get(c.node_pk) as unknown as DbNode
    return {
      pk: c.node_pk,
      node: nodeId(n),
      keyId: c.key_id,
      publicKey: c.public_key,
      image: c.image,
      enrolledAt: c.enrolled_at,
    }
  }
  const job = (jobId: number) => {
    const r = sql(db, `${JOB_SELECT} WHERE j.id = ?`).get(jobId) as JobRow | undefined
    return r === undefined ? undefined : toJob(r)
  }

  return {
    issueToken(q, image) {
      const n = planNode(db, q)
      if (!n) return undefined
      const now = Date.now()
      return mintToken(db, {
        n: n.pk,
        m: q.mac === undefined ? null : (normalizeMac(q.mac) ?? null),
        h: q.hostname === undefined ? null : (normalizeHostname(q.hostname) ?? null),
        a: normalizeIp(q.ip) ?? q.ip,
        i: image,
        t: now,
        e: now + ENROL_TOKEN_MS,
      })
    },
    enrol(r) {
      const who = r.mac ?? r.hostname ?? r.ip
      let keyId: string
      try {
        keyId = nodeKeyId(publicKeyFromRaw(r.publicKey))
      } catch {
        throw errors.enrolRefused(who, 'publicKey must be a raw ed25519 key in base64')
      }
      const t = readToken(db, r.token)
      if (!t) throw errors.enrolRefused(who, 'the enrol token is not one this server issued')
      if (t.e <= Date.now()) throw errors.enrolRefused(who, 'the enrol token expired')
      const mac = r.mac === undefined ? null : (normalizeMac(r.mac) ?? null)
      if (t.m !== null && t.m !== mac)
        throw errors.enrolRefused(who, 'the enrol token was issued for another MAC address')
      if (t.m === null) {
        const h = r.hostname === undefined ? null : (normalizeHostname(r.hostname) ?? null)
        if (t.h !== h) throw errors.enrolRefused(who, 'the enrol token was issued for another host name')
      }
      if (t.a !== (normalizeIp(r.ip) ?? r.ip))
        throw errors.enrolRefused(who, 'the enrol token was issued to another address')
      if (t.i !== r.image) {
        throw errors.enrolRefused(who, `the enrol token came with a plan for ${t.i}, not ${r.image}`)
      }
      return transaction(db, () => {
        const n = sql(db, 'SELECT pk FROM nodes WHERE pk = ?').get(t.n) as { pk: number } | undefined
        if (!n) throw errors.enrolRefused(who, 'the node of this enrol token was removed')
        const have = sql(db, 'SELECT * FROM node_credentials WHERE node_pk = ?').get(t.n) as CredRow | undefined
        // One enrolment per token: this one, and any issued before the node's last enrolment, are spent.
        if (have && t.t <= have.token_issued) {
          throw errors.enrolRefused(
            who,
            `the enrol token was already used, or the node enrolled again since (at ${have.enrolled_at})`,
          )
        }
        const clash = sql(db, 'SELECT node_pk FROM node_credentials WHERE key_id = ?').get(keyId) as
          | { node_pk: number }
          | undefined
        if (clash && clash.node_pk !== t.n) throw errors.enrolRefused(who, 'this key belongs to another node')
        const now = new Date().toISOString()
        sql(db, 'DELETE FROM node_credentials WHERE node_pk = ?').run(t.n)
        sql(
          db,
          'INSERT INTO node_credentials (node_pk, key_id, public_key, action_id, token_issued, enrolled_at, enrolled_ip, image) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
        ).run(t.n, keyId, r.publicKey, latestReimage(db, t.n), t.t, now, t.a, r.image)
        return toCred(sql(db, 'SELECT * FROM node_credentials WHERE node_pk = ?').get(t.n) as unknown as CredRow)
      })
    },
    byKeyId(keyId) {
      const c = sql(db, 'SELECT * FROM node_credentials WHERE key_id = ?').get(keyId) as CredRow | undefined
      return c && valid(c) ? toCred(c) : undefined
    },
    ofNode(id) {
      const n = byId(db, id)
      if (!n) throw errors.nodeNotFound(id)
      const c = sql(db, 'SELECT * FROM node_credentials WHERE node_pk = ?').get(n.pk) as CredRow | undefined
      return c === undefined ? undefined : { ...toCred(c), revoked: !valid(c) }
    },
    setImage(pk, image) {
      sql(db, 'UPDATE node_credentials SET image = ? WHERE node_pk = ?').run(image, pk)
      sql(db, 'UPDATE nodes SET image = ? WHERE pk = ?').run(image, pk)
    },
    touch(pk) {
      // At most once a minute per node: an UPDATE that changes nothing commits nothing (no fsync).
      const now = Date.now()
      sql(
        db,
        'UPDATE node_credentials SET last_used = ? WHERE node_pk = ? AND (last_used IS NULL OR last_used < ?)',
      ).run(new Date(now).toISOString(), pk, new Date(now - 60_000).toISOString())
    },

    addJob(id, kind, params, by) {
      const n = byId(db, id)
      if (!n) throw errors.nodeNotFound(id)
      const r = sql(
        db,
        'INSERT INTO agent_jobs (node_pk, kind, params, requested_by, requested_at) VALUES (?, ?, ?, ?, ?)',
      ).run(n.pk, kind, JSON.stringify(params), by, new Date().toISOString())
      return job(Number(r.lastInsertRowid)) as AgentJob
    },
    claimJobs(pk) {
      return transaction(db, () => {
        const rows = sql(db, `${JOB_SELECT} WHERE j.node_pk = ? AND j.status = 'pending' ORDER BY j.id`).all(
          pk,
        ) as unknown as JobRow[]
        const now = new Date().toISOString()
        for (const r of rows) {
          sql(db, "UPDATE agent_jobs SET status = 'running', started_at = ? WHERE id = ?").run(now, r.id)
        }
        return rows.map((r) => ({ ...toJob(r), status: 'running' as const, startedAt: now }))
      })
    },
    finishJob(pk, jobId, status, result) {
      const r = sql(
        db,
        "UPDATE agent_jobs SET status = ?, ended_at = ?, result = ? WHERE id = ? AND node_pk = ? AND status = 'running'",
      ).run(status, new Date().toISOString(), JSON.stringify(result), jobId, pk)
      if (Number(r.changes) === 0)
        throw errors.notFound('job', String(jobId), 'no running job of this node has this id')
      return job(jobId) as AgentJob
    },
    job,
    jobs(node, limit) {
      const n = node === undefined ? undefined : byId(db, node)
      if (node !== undefined && !n) throw errors.nodeNotFound(node)
      const rows = (n === undefined
        ? sql(db, `${JOB_SELECT} ORDER BY j.id DESC LIMIT ?`).all(limit)
        : sql(db, `${JOB_SELECT} WHERE j.node_pk = ? ORDER BY j.id DESC LIMIT ?`).all(
            n.pk,
            limit,
          )) as unknown as JobRow[]
      return rows.map(toJob)
    },
  }
}
