// The fleet database (docs/fleet-database.md): nodes, installs, events and
// requested actions in one node:sqlite file in the store, and what the API,
// the boot routes and the CLI do with it. This file is the whole public
// surface of seeder/fleet.
import type { DatabaseSync } from 'node:sqlite'
import type { Logger } from '../../common/log.ts'
import type { EventSink, NodeEvent } from '../api/events.ts'
import type { PlanQuery, PlanSource } from '../plans/index.ts'
import * as act from './actions.ts'
import { backupDatabase, integrityOf } from './backup.ts'
import { type Credentials, createCredentials } from './credentials.ts'
import { parseInventoryCsv } from './csv.ts'
import { type OpenOptions, openDatabase } from './db.ts'
import { History, SAMPLE_MS } from './history.ts'
import type { Applied } from './ingest.ts'
import { schemaVersion } from './migrations.ts'
import { byPk, toRow } from './nodes.ts'
import * as q from './queries.ts'
import { StreamHub } from './stream.ts'
import type { FleetSample, FleetSummary, InstallRow, NodeDetail, NodeFilter, NodeRow, StoredEvent } from './types.ts'
import { EventWriter } from './writer.ts'

export { integrityCheck } from './backup.ts'
export type { AgentJob, Credentials, JobKind, JobStatus, NodeCredential } from './credentials.ts'
export { ENROL_TOKEN_MS, JOB_KINDS, JOB_STATUSES } from './credentials.ts'
export { GROUP_PATTERN, parseInventoryCsv } from './csv.ts'
export { FLEET_DB_FILE, openDatabase as openFleetDatabase } from './db.ts'
export { MIGRATIONS, SCHEMA_VERSION } from './migrations.ts'
export { type FleetRoutesInit, registerFleetRoutes } from './routes.ts'
export { type SwarmRow, type SwarmSources, summarise as summariseAvailability, swarmRows } from './swarms.ts'
export type {
  FleetSample,
  FleetSummary,
  InstallResult,
  InstallRow,
  InventoryEntry,
  NodeDetail,
  NodeFacts,
  NodeFilter,
  NodeRow,
  NodeState,
  StoredEvent,
} from './types.ts'
export { INSTALL_RESULTS, NODE_STATES } from './types.ts'
export { TOUCH_MS } from './writer.ts'

export type BootAction = act.BootAction

export interface FleetInit extends OpenOptions {
  /** The database file (serve uses STORE/fleet.db). */
  file: string
  /** Oldest events beyond this many are pruned (default 2,000,000); installs and nodes are kept. */
  maxEvents?: number
  /** Most events in one transaction (default 2000; 1 = a commit per event, the benchmark's baseline). */
  maxBatch?: number
  /** Stream ticks (tests shorten them). */
  stream?: { nodeMs?: number; fleetMs?: number }
}

export interface FleetComponents {
  /** The plan source of the moment: its optional autoEnrolGroup() decides auto-enrolment of unknown MACs. */
  plans?: () => PlanSource | undefined
  logger?: Logger
}

export interface Fleet {
  readonly file: string
  readonly schemaVersion: number
  /** Events written and transactions committed since open. */
  readonly stats: { written: number; commits: number }
  readonly stream: StreamHub
  /** Node credentials, enrol tokens and agent jobs (credentials.ts, docs/agent.md). */
  readonly credentials: Credentials
  /** Starts the throughput history and the event pruning (serve calls it; the CLI needs neither). */
  start(): void
  /** Writes what is queued, then closes the database; idempotent. */
  stop(): Promise<void>

  /** Stores a node event; resolves once it is committed. */
  addEvent(e: NodeEvent): Promise<void>
  recentEvents(limit: number, node?: string): StoredEvent[]

  /** The per-MAC network boot decision (records unknown MACs as discovered). */
  bootAction(mac: string, ip?: string): BootAction
  /** A node asked for its plan: records an unknown MAC as discovered; returns the groups it was adopted into. */
  planRequested(q: PlanQuery): { groups: string[] }
  /** The plan the node got names this image (NAME@VERSION) and, if given, this host name. */
  planServed(q: PlanQuery, image: string, hostname?: string | null): void

  requestReimage(id: string, by?: string): NodeRow
  requestGroupReimage(group: string, by?: string): NodeRow[]
  cancel(id: string, by?: string): NodeRow
  adopt(id: string, group: string, by?: string): NodeRow
  remove(id: string): NodeRow
  /** Imports an inventory CSV (docs/inventory.md), all lines or none. */
  importCsv(text: string, file: string): NodeRow[]

  list(filter?: NodeFilter): NodeRow[]
  node(id: string): NodeDetail
  events(id: string, after: number | undefined, limit: number): StoredEvent[]
  installs(node: string | undefined, limit: number): InstallRow[]
  summary(): FleetSummary
  history(): FleetSample[]

  backup(file: string, opts?: { force?: boolean }): Promise<void>
  /** PRAGMA integrity_check: [] when ok. */
  integrity(): string[]
  /** Deletes the oldest events beyond maxEvents (a chunk at a time; start() runs it every minute); returns how many. */
  prune(): number
}

const PRUNE_EVERY = 12 // sample ticks: once a minute
const PRUNE_CHUNK = 50_000

export function openFleet(init: FleetInit, components: FleetComponents = {}): Fleet {
  const db: DatabaseSync = openDatabase(init.file, init)
  const log = components.logger
  const maxEvents = init.maxEvents ?? 2_000_000
  const history = new History()
  const stream = new StreamHub(
    {
      nodes: (pks) => q.nodeRows(db, pks),
      install: (id) => q.installById(db, id),
      fleet: () => q.fleetSummary(db),
    },
    init.stream,
  )
  const changed = (pks: Iterable<number>) => {
    for (const pk of pks) stream.nodeChanged(pk)
  }
  const writer = new EventWriter(
    db,
    (applied: Applied[]) => {
      for (const a of applied) {
        stream.nodeChanged(a.pk)
        if (a.installId !== undefined) stream.installChanged(a.installId)
      }
    },
    init.maxBatch,
  )
  const touch = (pk: number, ip: string | null, at: string) => writer.touch(pk, ip, at)
  const row = (pk: number): NodeRow => toRow(byPk(db, pk) as NonNullable<ReturnType<typeof byPk>>)
  let sampler: NodeJS.Timeout | undefined
  let ticks = 0
  let closed = false

  const prune = (): number => {
    const r = db
      .prepare(
        'DELETE FROM events WHERE seq IN (SELECT seq FROM events WHERE seq <= (SELECT max(seq) FROM events) - ? ORDER BY seq LIMIT ?)',
      )
      .run(maxEvents, PRUNE_CHUNK)
    if (Number(r.changes) > 0) log?.info({ pruned: Number(r.changes) }, 'pruned old events')
    return Number(r.changes)
  }

  const autoEnrol = (mac: string, ip: string | undefined): string | undefined => {
    const src = components.plans?.()
    const g = src?.autoEnrolGroup?.({ mac, ip })
    return typeof g === 'string' && g !== '' ? g : undefined
  }

  return {
    file: init.file,
    get schemaVersion() {
      return schemaVersion(db)
    },
    get stats() {
      return { written: writer.written, commits: writer.commits }
    },
    stream,
    credentials: createCredentials(db),
    start() {
      if (sampler || closed) return
      history.add(q.fleetSummary(db))
      sampler = setInterval(() => {
        try {
          history.add(q.fleetSummary(db))
          if (++ticks % PRUNE_EVERY === 0) prune()
        } catch (e) {
          log?.warn({ err: e }, 'fleet sampling failed')
        }
      }, SAMPLE_MS)
      sampler.unref()
    },
    async stop() {
      if (closed) return
      closed = true
      if (sampler) clearInterval(sampler)
      stream.close()
      writer.close()
      db.close()
    },

    async addEvent(e) {
      await writer.add(e)
    },
    recentEvents: (limit, node) => q.recentEvents(db, limit, node),

    bootAction(mac, ip) {
      const r = act.bootAction(db, mac, ip, autoEnrol)
      if (r.pk !== undefined) stream.nodeChanged(r.pk)
      return r.action
    },
    planRequested(pq) {
      const n = act.planRequested(db, pq, touch)
      if (!n) return { groups: [] }
      stream.nodeChanged(n.pk)
      return { groups: n.grp === null ? [] : [n.grp] }
    },
    planServed(pq, image, hostname) {
      const n = act.findPlanNode(db, pq) ?? act.planRequested(db, pq, touch)
      if (!n) return
      act.planServed(db, n.pk, image, hostname ?? undefined)
      stream.nodeChanged(n.pk)
    },

    requestReimage(id, by = 'admin') {
      const pk = act.requestReimage(db, id, by)
      stream.nodeChanged(pk)
      return row(pk)
    },
    requestGroupReimage(group, by = 'admin') {
      const src = components.plans?.()
      const groupsOf = src?.groupsOf?.bind(src)
      const inConfig = groupsOf
        ? (n: { hostname: string | null; mac: string | null; ip: string | null }) =>
            groupsOf({ hostname: n.hostname ?? undefined, mac: n.mac ?? undefined, ip: n.ip ?? undefined }).includes(
              group,
            )
        : undefined
      const pks = act.requestGroupReimage(db, group, by, inConfig)
      changed(pks)
      return q.nodeRows(db, pks)
    },
    cancel(id, by = 'admin') {
      const r = act.cancel(db, id, by)
      stream.nodeChanged(r.pk)
      if (r.installId !== undefined) stream.installChanged(r.installId)
      return row(r.pk)
    },
    adopt(id, group, by = 'admin') {
      const pk = act.adopt(db, id, group, by)
      stream.nodeChanged(pk)
      return row(pk)
    },
    remove(id) {
      const r = toRow(act.remove(db, id))
      stream.nodeRemoved(r.id)
      return r
    },
    importCsv(text, file) {
      const pks = act.importInventory(db, file, parseInventoryCsv(text, file))
      changed(pks)
      return q.nodeRows(db, pks)
    },

    list: (f) => q.listNodes(db, f),
    node: (id) => q.nodeDetail(db, act.mustFind(db, id)),
    events: (id, after, limit) => q.nodeEvents(db, act.mustFind(db, id).pk, after, limit),
    installs(node, limit) {
      return q.listInstalls(db, node === undefined ? undefined : act.mustFind(db, node).pk, limit)
    },
    summary: () => q.fleetSummary(db),
    history: () => history.list(),

    backup: (file, opts) => backupDatabase(db, file, opts),
    integrity: () => integrityOf(db),
    prune,
  }
}

/** The EventSink of POST /api/v1/events backed by the fleet database. */
export function fleetEventSink(fleet: Fleet): EventSink {
  return {
    add: (e) => fleet.addEvent(e),
    recent: (limit, node) => fleet.recentEvents(limit, node),
  }
}
