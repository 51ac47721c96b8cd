// Online backup and integrity check of the fleet database. The backup uses
// SQLite's backup API (node:sqlite backup()), which copies a consistent
// snapshot page by page while the server keeps writing; the copy is written
// to a temporary name and renamed, so FILE is either the old file or a whole
// new backup.
import { existsSync } from 'node:fs'
import { rename, rm } from 'node:fs/promises'
import { DatabaseSync, backup as sqliteBackup } from 'node:sqlite'
import { errors } from '../../common/errors.ts'

export async function backupDatabase(db: DatabaseSync, file: string, opts: { force?: boolean } = {}): Promise<void> {
  if (existsSync(file) && !opts.force) {
    throw errors.usage(`${file} exists`, 'choose a new file name, or pass --force to replace it')
  }
  const tmp = `${file}.${process.pid}.tmp`
  try {
    await sqliteBackup(db, tmp)
    const check = integrityCheck(tmp)
    if (check.length > 0) throw errors.fleetDb(tmp, `the backup copy failed its integrity check: ${check.join('; ')}`)
    await rename(tmp, file)
  } finally {
    await rm(tmp, { force: true })
  }
}

/** PRAGMA integrity_check of a database file; [] when it is ok. */
export function integrityCheck(file: string): string[] {
  const db = new DatabaseSync(file, { readOnly: true })
  try {
    return integrityOf(db)
  } finally {
    db.close()
  }
}

export function integrityOf(db: DatabaseSync): string[] {
  const rows = db.prepare('PRAGMA integrity_check').all() as { integrity_check: string }[]
  const out = rows.map((r) => r.integrity_check)
  return out.length === 1 && out[0] === 'ok' ? [] : out
}
