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
// when it has grown by `stepBytes` since the last one.
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

/**
 * Runs a full collection whenever the process's ArrayBuffer memory has grown
 * by `stepBytes` since the last one (checked every `intervalMs`). A no-op
 * governor when gc() cannot be had. stop() is idempotent.
 */
export function startGovernor(o: { stepBytes?: number; intervalMs?: number } = {}): Governor {
  const stats: GovernorStats = { collections: 0, peakArrayBuffers: 0 }
  const collect = getGc()
  const step = o.stepBytes ?? GOVERNOR_STEP_BYTES
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
      collect()
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
