// The fleet's throughput over the last hour: one sample every 5 s, kept in
// memory (the totals themselves are in the database; the curve restarts
// empty with the server).
import type { FleetSample, FleetSummary } from './types.ts'

export const SAMPLE_MS = 5000
export const HISTORY_SAMPLES = 720

export class History {
  readonly #samples: FleetSample[] = []
  readonly #max: number

  constructor(max = HISTORY_SAMPLES) {
    this.#max = max
  }

  add(s: FleetSummary, at = new Date()): void {
    this.#samples.push({
      t: at.toISOString(),
      rateDown: s.rateDown,
      rateUp: s.rateUp,
      bytesFromServer: s.bytesFromServer,
      bytesFromPeers: s.bytesFromPeers,
    })
    if (this.#samples.length > this.#max) this.#samples.splice(0, this.#samples.length - this.#max)
  }

  list(): FleetSample[] {
    return [...this.#samples]
  }
}
