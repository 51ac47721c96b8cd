// What the fleet database holds after the run, read from the file once serve
// has stopped (its shutdown writes what is queued): every acknowledged event
// must be there. Events carry their id as `message` (fleet.ts).
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { FLEET_DB_FILE } from '../../seeder/fleet/index.ts'

export interface StoredCheck {
  /** Rows in the events table. */
  rows: number
  /** Acknowledged events missing from the database: must be 0. */
  lost: string[]
  /** Stored events whose reply was not a 202 (or never came): not a loss, reported. */
  unackedStored: number
  /** Rows whose id was stored more than once. */
  duplicates: number
}

export function checkStored(store: string, acked: Set<string>, unacked: Set<string>): StoredCheck {
  const db = new DatabaseSync(join(store, FLEET_DB_FILE), { readOnly: true })
  try {
    const rows = db.prepare("SELECT json_extract(body, '$.message') AS id FROM events").all() as { id: string | null }[]
    const seen = new Set<string>()
    let duplicates = 0
    for (const r of rows) {
      if (r.id === null) continue
      if (seen.has(r.id)) duplicates++
      seen.add(r.id)
    }
    const lost = [...acked].filter((id) => !seen.has(id))
    const unackedStored = [...unacked].filter((id) => seen.has(id)).length
    return { rows: rows.length, lost, unackedStored, duplicates }
  } finally {
    db.close()
  }
}
