// The fleet database's schema, as numbered migrations. A migration that has
// shipped is never edited: a change is a new migration at the end. Each one
// runs in its own transaction together with the bump of user_version and its
// row in schema_migrations, so a crash leaves the database at the previous
// version or the next one, never between.
import type { DatabaseSync } from 'node:sqlite'
import { errors } from '../../common/errors.ts'

export interface Migration {
  version: number
  name: string
  sql: string
}

const STATES = `'discovered','idle','reimage-requested','installing','done','failed'`

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'nodes, events, requested actions',
    sql: `
CREATE TABLE nodes (
  pk INTEGER PRIMARY KEY,
  hostname TEXT,
  mac TEXT,
  ip TEXT,
  grp TEXT,
  state TEXT NOT NULL DEFAULT 'idle' CHECK (state IN (${STATES})),
  discovered INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL,
  first_seen TEXT,
  last_seen TEXT,
  image TEXT,
  step TEXT,
  percent REAL,
  bytes_down INTEGER NOT NULL DEFAULT 0,
  bytes_up INTEGER NOT NULL DEFAULT 0,
  rate_down REAL NOT NULL DEFAULT 0,
  rate_up REAL NOT NULL DEFAULT 0,
  peers INTEGER NOT NULL DEFAULT 0,
  message TEXT,
  code TEXT,
  CHECK (hostname IS NOT NULL OR mac IS NOT NULL)
);
CREATE UNIQUE INDEX nodes_hostname ON nodes(hostname) WHERE hostname IS NOT NULL;
CREATE UNIQUE INDEX nodes_mac ON nodes(mac) WHERE mac IS NOT NULL;
CREATE INDEX nodes_state ON nodes(state);
CREATE INDEX nodes_grp ON nodes(grp);

CREATE TABLE events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  node_pk INTEGER REFERENCES nodes(pk) ON DELETE SET NULL,
  node TEXT NOT NULL,
  step TEXT NOT NULL,
  received_at TEXT NOT NULL,
  ip TEXT NOT NULL,
  body TEXT NOT NULL
);
CREATE INDEX events_node ON events(node_pk, seq);
CREATE INDEX events_reported ON events(node, seq);

CREATE TABLE actions (
  id INTEGER PRIMARY KEY,
  node_pk INTEGER NOT NULL REFERENCES nodes(pk) ON DELETE CASCADE,
  kind TEXT NOT NULL CHECK (kind IN ('reimage','cancel','adopt')),
  requested_by TEXT NOT NULL,
  requested_at TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending','done','cancelled')),
  closed_at TEXT
);
CREATE INDEX actions_pending ON actions(node_pk) WHERE status = 'pending';
`,
  },
  {
    version: 2,
    name: 'install history and hardware facts',
    sql: `
ALTER TABLE nodes ADD COLUMN facts TEXT;

CREATE TABLE installs (
  id INTEGER PRIMARY KEY,
  node_pk INTEGER REFERENCES nodes(pk) ON DELETE SET NULL,
  node TEXT NOT NULL,
  image TEXT,
  started_at TEXT NOT NULL,
  ended_at TEXT,
  result TEXT NOT NULL DEFAULT 'running' CHECK (result IN ('running','verified','failed','cancelled')),
  code TEXT,
  bytes_from_server INTEGER NOT NULL DEFAULT 0,
  bytes_from_peers INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX installs_node ON installs(node_pk, id);
CREATE INDEX installs_running ON installs(node_pk) WHERE result = 'running';
`,
  },
  {
    // The tables of seeder/schedule (docs/schedules.md).
    version: 3,
    name: 'schedules and their runs',
    sql: `
CREATE TABLE schedules (
  id INTEGER PRIMARY KEY,
  grp TEXT NOT NULL,
  cron TEXT NOT NULL,
  tz TEXT,
  action TEXT NOT NULL CHECK (action IN ('reimage','update','poweroff','reboot')),
  target TEXT,
  power TEXT CHECK (power IS NULL OR power IN ('wol','ipmi','ssh','amt','none')),
  enabled INTEGER NOT NULL DEFAULT 1,
  created_at TEXT NOT NULL,
  created_by TEXT NOT NULL,
  next_run TEXT
);

CREATE TABLE schedule_runs (
  id INTEGER PRIMARY KEY,
  schedule_id INTEGER REFERENCES schedules(id) ON DELETE SET NULL,
  grp TEXT NOT NULL,
  action TEXT NOT NULL,
  trigger TEXT NOT NULL CHECK (trigger IN ('cron','catch-up','manual')),
  due_at TEXT NOT NULL,
  started_at TEXT NOT NULL,
  ended_at TEXT,
  result TEXT NOT NULL DEFAULT 'running' CHECK (result IN ('running','done','partial','failed','skipped','timeout')),
  message TEXT,
  nodes TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX schedule_runs_schedule ON schedule_runs(schedule_id, id);
CREATE INDEX schedule_runs_running ON schedule_runs(id) WHERE result = 'running';
`,
  },
  {
    // Node credentials, the enrol-token key and agent jobs (seeder/fleet/credentials.ts, docs/agent.md).
    version: 4,
    name: 'node credentials and agent jobs',
    sql: `
-- The HMAC key of the stateless enrol tokens in signed plans (one row, made on first use).
CREATE TABLE enrol_secret (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  secret TEXT NOT NULL
);

CREATE TABLE node_credentials (
  node_pk INTEGER PRIMARY KEY REFERENCES nodes(pk) ON DELETE CASCADE,
  key_id TEXT NOT NULL UNIQUE,
  public_key TEXT NOT NULL,
  action_id INTEGER NOT NULL,
  token_issued INTEGER NOT NULL,
  enrolled_at TEXT NOT NULL,
  enrolled_ip TEXT NOT NULL,
  image TEXT,
  last_used TEXT
);

CREATE TABLE agent_jobs (
  id INTEGER PRIMARY KEY,
  node_pk INTEGER NOT NULL REFERENCES nodes(pk) ON DELETE CASCADE,
  kind TEXT NOT NULL CHECK (kind IN ('update','push-overrides','fetch')),
  params TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending','running','done','failed','cancelled')),
  requested_by TEXT NOT NULL,
  requested_at TEXT NOT NULL,
  started_at TEXT,
  ended_at TEXT,
  result TEXT
);
CREATE INDEX agent_jobs_node ON agent_jobs(node_pk, id);
`,
  },
]

export const SCHEMA_VERSION = (MIGRATIONS.at(-1) as Migration).version

/** The schema version a database is at (PRAGMA user_version). */
export function schemaVersion(db: DatabaseSync): number {
  return Number((db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version)
}

/** Applies the migrations after the database's version, up to `target` (default: all); returns those applied. */
export function migrate(db: DatabaseSync, file: string, target = SCHEMA_VERSION): number[] {
  db.exec(
    'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)',
  )
  const have = schemaVersion(db)
  if (have > SCHEMA_VERSION) throw errors.fleetSchemaNewer(file, have, SCHEMA_VERSION)
  const applied: number[] = []
  for (const m of MIGRATIONS) {
    if (m.version <= have || m.version > target) continue
    db.exec('BEGIN IMMEDIATE')
    try {
      db.exec(m.sql)
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(
        m.version,
        m.name,
        new Date().toISOString(),
      )
      // PRAGMA takes no bound parameters; the version is one of our integers.
      db.exec(`PRAGMA user_version = ${Math.trunc(m.version)}`)
      db.exec('COMMIT')
    } catch (e) {
      db.exec('ROLLBACK')
      throw errors.fleetDb(file, `migration ${m.version} (${m.name}) failed: ${(e as Error).message}`)
    }
    applied.push(m.version)
  }
  return applied
}
