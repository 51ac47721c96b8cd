// Batches node events into one transaction per event-loop turn. A POST is
// answered only after the transaction holding its event has committed, so
// every 2xx reply names an event on disk; batching keeps that to one commit
// (one fsync with synchronous=FULL) per turn however many nodes post at once.
// Plan fetches' last_seen stamps ride along in the next such transaction, or
// in one of their own within TOUCH_MS (touch): nobody waits for them, and a
// commit each would block the loop on an fsync per plan fetch.
import type { DatabaseSync } from 'node:sqlite'
import type { NodeEvent } from '../api/events.ts'
import { transaction } from './db.ts'
import { type Applied, applyEvent } from './ingest.ts'
import { sql } from './nodes.ts'

interface Pending {
  e: NodeEvent
  resolve: (a: Applied) => void
  reject: (err: unknown) => void
}

/** How long a last_seen stamp may wait for an event's transaction before it gets one of its own. */
export const TOUCH_MS = 1000

/** The largest batch in one transaction by default; the rest waits for the next turn. */
export const MAX_BATCH = 2000

export class EventWriter {
  readonly #db: DatabaseSync
  readonly #onCommit: (applied: Applied[]) => void
  readonly #maxBatch: number
  #queue: Pending[] = []
  /** Node pk to its newest last_seen stamp (and ip) not yet written; several touches of a node make one update. */
  #touches = new Map<number, { ip: string | null; at: string }>()
  #scheduled = false
  #touchTimer: NodeJS.Timeout | undefined
  #closed = false
  /** Transactions committed and events in them, for the throughput figures. */
  commits = 0
  written = 0

  constructor(db: DatabaseSync, onCommit: (applied: Applied[]) => void, maxBatch = MAX_BATCH) {
    this.#db = db
    this.#onCommit = onCommit
    this.#maxBatch = Math.max(1, maxBatch)
  }

  add(e: NodeEvent): Promise<Applied> {
    if (this.#closed) return Promise.reject(new Error('the fleet database is closed'))
    return new Promise<Applied>((resolve, reject) => {
      this.#queue.push({ e, resolve, reject })
      this.#schedule()
    })
  }

  /** Stamps a node seen at `at` (and from `ip` if given) in the next batch; dropped once closed. */
  touch(pk: number, ip: string | null, at: string): void {
    if (this.#closed) return
    const prev = this.#touches.get(pk)
    this.#touches.set(pk, { ip: ip ?? prev?.ip ?? null, at: prev !== undefined && prev.at > at ? prev.at : at })
    // Events flush the stamps with them; without events, one commit a second carries them all.
    this.#touchTimer ??= setTimeout(() => {
      this.#touchTimer = undefined
      this.#schedule()
    }, TOUCH_MS).unref()
  }

  /** Writes what is queued now (stop() calls it before closing). */
  drain(): void {
    while (this.#queue.length > 0 || this.#touches.size > 0) this.#flushOnce()
  }

  #schedule(): void {
    if (this.#scheduled) return
    this.#scheduled = true
    setImmediate(() => this.#flush())
  }

  #applyTouches(touches: [number, { ip: string | null; at: string }][]): void {
    // ISO-8601 stamps compare as strings: an older stamp never overwrites a newer one.
    const st = sql(
      this.#db,
      'UPDATE nodes SET last_seen = MAX(COALESCE(last_seen, ?2), ?2), ip = COALESCE(?3, ip) WHERE pk = ?1',
    )
    for (const [pk, t] of touches) st.run(pk, t.at, t.ip)
  }

  close(): void {
    clearTimeout(this.#touchTimer)
    this.#touchTimer = undefined
    this.drain()
    this.#closed = true
  }

  #flush(): void {
    this.#scheduled = false
    this.#flushOnce()
    if (this.#queue.length > 0) this.#schedule()
  }

  #flushOnce(): void {
    const batch = this.#queue.splice(0, this.#maxBatch)
    const touches = [...this.#touches]
    this.#touches.clear()
    if (batch.length === 0 && touches.length === 0) return
    const now = new Date().toISOString()
    let applied: Applied[]
    try {
      applied = transaction(this.#db, () => {
        this.#applyTouches(touches)
        return batch.map((p) => applyEvent(this.#db, p.e, now))
      })
    } catch {
      // One bad event must not sink its neighbours: retry them one by one, the stamps on their own.
      try {
        transaction(this.#db, () => this.#applyTouches(touches))
      } catch {
        // A last_seen stamp is not worth failing an event for.
      }
      applied = []
      for (const p of batch) {
        try {
          const a = transaction(this.#db, () => applyEvent(this.#db, p.e, now))
          applied.push(a)
          this.commits++
          this.written++
          p.resolve(a)
        } catch (err) {
          p.reject(err)
        }
      }
      this.#onCommit(applied)
      return
    }
    if (batch.length === 0) return
    this.commits++
    this.written += batch.length
    for (let i = 0; i < batch.length; i++) (batch[i] as Pending).resolve(applied[i] as Applied)
    this.#onCommit(applied)
  }
}
