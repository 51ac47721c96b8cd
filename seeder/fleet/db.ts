// Opening the fleet database: WAL (readers never block the writer, and a
// commit is one append to the log), a busy timeout for a second process
// (the CLI while serve runs), foreign keys on, then the migrations.
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { errors } from '../../common/errors.ts'
import { migrate } from './migrations.ts'

export const FLEET_DB_FILE = 'fleet.db'

export interface OpenOptions {
  /**
   * FULL (default): each commit is fsynced, so an acknowledged event survives
   * a power cut as well as a kill -9. NORMAL survives kill -9 but not power
   * loss; the events are batched per tick either way.
   */
  synchronous?: 'FULL' | 'NORMAL'
  busyTimeoutMs?: number
  /** Migrate only up to this version (tests of upgrades). */
  migrateTo?: number
}

export function openDatabase(file: string, o: OpenOptions = {}): DatabaseSync {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true, mode: 0o750 })
  let db: DatabaseSync
  try {
    db = new DatabaseSync(file, { timeout: o.busyTimeoutMs ?? 5000 })
  } catch (e) {
    throw errors.fleetDb(file, (e as Error).message)
  }
  try {
    db.exec('PRAGMA journal_mode = WAL')
    db.exec(`PRAGMA synchronous = ${o.synchronous === 'NORMAL' ? 'NORMAL' : 'FULL'}`)
    db.exec('PRAGMA foreign_keys = ON')
    migrate(db, file, o.migrateTo)
  } catch (e) {
    db.close()
    if ((e as { code?: string }).code?.startsWith('IMGSWARM_ERR_')) throw e
    throw errors.fleetDb(file, (e as Error).message)
  }
  return db
}

/** Runs `fn` in one write transaction (BEGIN IMMEDIATE: the write lock is taken up front). */
export function transaction<T>(db: DatabaseSync, fn: () => T): T {
  db.exec('BEGIN IMMEDIATE')
  try {
    const r = fn()
    db.exec('COMMIT')
    return r
  } catch (e) {
    if (db.isTransaction) db.exec('ROLLBACK')
    throw e
  }
}
