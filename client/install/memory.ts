// Memory hints for the install's download (docs/bench-install.md, "Peak RSS").
//
// One full garbage collection, once: after the archive index is parsed and
// the tree laid out, tens of MB of short-lived objects (the parser's and the
// checks' path sets) are dead, but V8 keeps their pages until some later
// collection, which would then come on top of the download's piece buffers
// and set the peak resident size.
//
// A cap on dead buffers during the download: socket chunks, web seed bodies
// and written pieces are ArrayBuffers outside V8's heap, freed only when a
// collection finds their small JS wrappers dead. V8 collects for external
// memory only after it has grown by about 64 MB, so between collections
// tens of MB of dead buffers add to the resident size. The governor checks
// the ArrayBuffer total a few times a second and runs a collection itself
// when it has grown by `stepBytes` since the last one. Most of those dead
// buffers are socket chunks and web seed bodies whose wrappers die young, so
// the governor runs a young-generation collection (a scavenge, a few ms) and
// only every `majorEvery`-th time a full one, for the pieces whose wrappers
// lived long enough to be promoted (V8 also runs its own). A full collection
// every time cost a fifth of the install's CPU: 0.3 GB image, medians of 3,
// load 1-4, 2026-12-02: all full 6.73 and 7.19 CPU-s (peak RSS 205, 230 MB),
// all scavenges 5.59 and 5.42 (211, 218 MB), one full in 16: 5.81 (211 MB).
//
// V8 exposes gc() only behind a flag, which can be set at run time for a
// fresh context.
import v8 from 'node:v8'
import vm from 'node:vm'

type Gc = (opts?: { type?: 'major' | 'minor'; execution?: 'sync' | 'async' }) => Promise<void> | undefined

let gc: Gc | undefined | null

function getGc(): Gc | undefined {
  if (gc === undefined) {
    try {
      v8.setFlagsFromString('--expose-gc')
      gc = vm.runInNewContext('gc') as Gc
    } catch {
      gc = null
    }
  }
  return gc ?? undefined
}

export function collectGarbage(): void {
  try {
    getGc()?.()
  } catch {
    // Only a memory hint: without it the collector runs when it likes.
  }
}

export interface GovernorStats {
  /** Collections the governor ran. */
  collections: number
  /** Highest ArrayBuffer total seen, bytes. */
  peakArrayBuffers: number
}

export interface Governor {
  stats: GovernorStats
  stop(): void
}

/** Default growth of the ArrayBuffer total that triggers a collection. */
export const GOVERNOR_STEP_BYTES = 12 * 1024 * 1024
/** Every this many governor collections, a full one; the others are scavenges. */
export const GOVERNOR_MAJOR_EVERY = 16

/**
 * Runs a collection (a scavenge, every `majorEvery`-th a full one) whenever
 * the process's ArrayBuffer memory has grown by `stepBytes` since the last one (checked every `intervalMs`). A no-op
 * governor when gc() cannot be had. stop() is idempotent.
 */
export function startGovernor(o: { stepBytes?: number; intervalMs?: number; majorEvery?: number } = {}): Governor {
  const stats: GovernorStats = { collections: 0, peakArrayBuffers: 0 }
  const collect = getGc()
  const step = o.stepBytes ?? GOVERNOR_STEP_BYTES
  const majorEvery = Math.max(1, o.majorEvery ?? GOVERNOR_MAJOR_EVERY)
  if (!collect || step <= 0) return { stats, stop() {} }
  let base = process.memoryUsage().arrayBuffers
  let busy = false
  const timer = setInterval(() => {
    const now = process.memoryUsage().arrayBuffers
    if (now > stats.peakArrayBuffers) stats.peakArrayBuffers = now
    if (busy) return
    // Freed backing stores leave the count shortly after the collection: rebase on the way down too.
    if (now < base) base = now
    if (now - base < step) return
    busy = true
    stats.collections++
    try {
      collect(stats.collections % majorEvery === 0 ? undefined : { type: 'minor' })
    } catch {
      // A hint only.
    }
    // The count drops once the sweeper has freed the backing stores; measure on the next tick.
    setTimeout(() => {
      base = process.memoryUsage().arrayBuffers
      busy = false
    }, 20).unref()
  }, o.intervalMs ?? 100)
  timer.unref()
  return {
    stats,
    stop() {
      clearInterval(timer)
    },
  }
}
