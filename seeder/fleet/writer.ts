// Batches node events into one transaction per event-loop turn. A POST is
// answered only after the transaction holding its event has committed, so
// every 2xx reply names an event on disk; batching keeps that to one commit
// (one fsync with synchronous=FULL) per turn however many nodes post at once.
import type { DatabaseSync } from 'node:sqlite'
import type { NodeEvent } from '../api/events.ts'
import { transaction } from './db.ts'
import { type Applied, applyEvent } from './ingest.ts'

interface Pending {
  e: NodeEvent
  resolve: (a: Applied) => void
  reject: (err: unknown) => void
}

/** The largest batch in one transaction by default; the rest waits for the next turn. */
export const MAX_BATCH = 2000

export class EventWriter {
  readonly #db: DatabaseSync
  readonly #onCommit: (applied: Applied[]) => void
  readonly #maxBatch: number
  #queue: Pending[] = []
  #scheduled = false
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
      if (!this.#scheduled) {
        this.#scheduled = true
        setImmediate(() => this.#flush())
      }
    })
  }

  /** Writes what is queued now (stop() calls it before closing). */
  drain(): void {
    while (this.#queue.length > 0) this.#flushOnce()
  }

  close(): void {
    this.drain()
    this.#closed = true
  }

  #flush(): void {
    this.#scheduled = false
    this.#flushOnce()
    if (this.#queue.length > 0 && !this.#scheduled) {
      this.#scheduled = true
      setImmediate(() => this.#flush())
    }
  }

  #flushOnce(): void {
    const batch = this.#queue.splice(0, this.#maxBatch)
    if (batch.length === 0) return
    const now = new Date().toISOString()
    let applied: Applied[]
    try {
      applied = transaction(this.#db, () => batch.map((p) => applyEvent(this.#db, p.e, now)))
    } catch {
      // One bad event must not sink its neighbours: retry them one by one.
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
    this.commits++
    this.written += batch.length
    for (let i = 0; i < batch.length; i++) (batch[i] as Pending).resolve(applied[i] as Applied)
    this.#onCommit(applied)
  }
}
