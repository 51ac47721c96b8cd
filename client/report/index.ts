// Reports the install to the server: one event per step, a progress event
// every few seconds, and a failure event with the error code and the last log
// lines. Reporting never stops an install: events queue (bounded) while the
// server is unreachable and go out in order when it answers again.
import {
  EVENT_NODE,
  type EventStep,
  LOG_LINE_MAX,
  LOG_TAIL_MAX,
  MESSAGE_MAX,
  type NodeEventInput,
} from '../../common/events.ts'

export type Progress = Pick<
  NodeEventInput,
  'percent' | 'bytesDown' | 'bytesUp' | 'rateDown' | 'rateUp' | 'peers' | 'bytesFromServer' | 'bytesFromPeers'
> & {
  step: EventStep
  message?: string
}

export interface ReporterInit {
  /** Base URL of the server that takes events (imgswarm.monitor, or the image server). */
  url: string
  /** Host name or MAC; anything else is reported as "unknown". */
  node: string
  /** Least time between two progress events; default 3 s. */
  progressEveryMs?: number
  fetchImpl?: typeof fetch
  /** Called once per outage, when an event cannot be delivered. */
  onTrouble?: (msg: string) => void
  /** Queue bound: step events beyond it drop the oldest progress first; default 500. */
  maxQueued?: number
}

export interface Reporter {
  /** Names the node differently from now on (once the plan says who it is). */
  rename(node: string): void
  /** `facts`: the hardware facts, sent once with the `config` step (client/report/facts.ts); the byte split with `done`. */
  step(
    step: EventStep,
    message?: string,
    extra?: Pick<NodeEventInput, 'facts' | 'bytesFromServer' | 'bytesFromPeers'>,
  ): void
  /** Throttled: only the newest progress is kept between two sends. */
  progress(p: Progress): void
  failed(code: string, message: string, logTail: string[]): void
  /** Waits (at most timeoutMs) until the queue is delivered. */
  flush(timeoutMs: number): Promise<boolean>
  close(): void
  /** Events posted and acknowledged so far. */
  readonly sent: number
}

/** A Retry-After in seconds (what our server sends), bounded to 10 minutes; 1 s when absent or unreadable. */
function retryAfterMs(v: string | null): number {
  return v !== null && /^\d{1,6}$/.test(v.trim()) ? Math.min(Number(v.trim()), 600) * 1000 : 1000
}

const clip = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s)

export function createReporter(init: ReporterInit): Reporter {
  const url = `${init.url.replace(/\/+$/, '')}/api/v1/events`
  const valid = (n: string) => (EVENT_NODE.test(n) && n.length <= 253 ? n : 'unknown')
  let node = valid(init.node)
  const every = init.progressEveryMs ?? 3000
  const max = init.maxQueued ?? 500
  const doFetch = init.fetchImpl ?? fetch
  const queue: NodeEventInput[] = []
  let pendingProgress: NodeEventInput | undefined
  let lastProgressAt = 0
  let progressTimer: NodeJS.Timeout | undefined
  let sending = false
  let closed = false
  let troubled = false
  let delay = 500
  let sent = 0
  let wake: (() => void) | undefined

  const enqueue = (e: NodeEventInput) => {
    if (queue.length >= max) {
      const i = queue.findIndex((q) => q.percent !== undefined && q.step !== 'failed')
      queue.splice(Math.max(i, 0), 1)
    }
    queue.push({ ...e, ts: new Date().toISOString() })
    void pump()
  }

  /** true: done with it (delivered, or refused for good); false: retry with backoff; a number: retry after that many ms. */
  const post = async (e: NodeEventInput): Promise<boolean | number> => {
    try {
      const res = await doFetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(e),
        signal: AbortSignal.timeout(10_000),
      })
      await res.arrayBuffer().catch(() => undefined)
      // Rate-limited (docs/plan-signing.md#rate-limits): the event is kept and sent again when told.
      if (res.status === 429) return retryAfterMs(res.headers.get('retry-after'))
      // Any other 4xx will not get better by retrying: drop the event, keep the rest.
      if (res.status >= 400 && res.status < 500) {
        init.onTrouble?.(`the server refused a ${e.step} event (${res.status})`)
        return true
      }
      return res.ok
    } catch {
      return false
    }
  }

  const pump = async () => {
    if (sending) return
    sending = true
    try {
      while (queue.length > 0 && !closed) {
        const e = queue[0] as NodeEventInput
        const done = await post(e)
        if (done === true) {
          queue.shift()
          sent++
          delay = 500
          if (troubled) troubled = false
          continue
        }
        if (!troubled) {
          troubled = true
          init.onTrouble?.(
            typeof done === 'number'
              ? `${url} is rate-limiting this address (429); keeping the events, retrying in the background`
              : `cannot reach ${url} to report progress; retrying in the background`,
          )
        }
        await new Promise<void>((r) => {
          const t = setTimeout(r, typeof done === 'number' ? Math.max(done, delay) : delay)
          t.unref()
          wake = () => {
            clearTimeout(t)
            r()
          }
        })
        wake = undefined
        delay = Math.min(delay * 2, 10_000)
      }
    } finally {
      sending = false
    }
  }

  const flushProgress = () => {
    progressTimer = undefined
    if (pendingProgress === undefined) return
    lastProgressAt = Date.now()
    const e = pendingProgress
    pendingProgress = undefined
    // Only one progress event waits in the queue: a newer one replaces it.
    const i = queue.findIndex((q) => q.percent !== undefined && q.message === undefined && q !== queue[0])
    if (i >= 0) queue.splice(i, 1)
    enqueue(e)
  }

  return {
    rename(n) {
      node = valid(n)
    },
    step(step, message, extra) {
      flushProgress()
      enqueue({
        node,
        step,
        ...(message === undefined ? {} : { message: clip(message, MESSAGE_MAX) }),
        ...extra,
      })
    },
    progress(p) {
      const { message, ...rest } = p
      pendingProgress = { node, ...rest, ...(message === undefined ? {} : { message: clip(message, MESSAGE_MAX) }) }
      if (progressTimer) return
      const wait = Math.max(0, lastProgressAt + every - Date.now())
      progressTimer = setTimeout(flushProgress, wait)
      progressTimer.unref()
    },
    failed(code, message, logTail) {
      flushProgress()
      enqueue({
        node,
        step: 'failed',
        code: /^[A-Za-z0-9_.-]{1,100}$/.test(code) ? code : 'IMGSWARM_ERR_INTERNAL',
        message: clip(message, MESSAGE_MAX),
        logTail: logTail.slice(-LOG_TAIL_MAX).map((l) => clip(l, LOG_LINE_MAX)),
      })
    },
    async flush(timeoutMs) {
      flushProgress()
      const end = Date.now() + timeoutMs
      wake?.()
      while ((queue.length > 0 || sending) && Date.now() < end) {
        await new Promise((r) => setTimeout(r, 50))
        if (!sending && queue.length > 0) void pump()
      }
      return queue.length === 0
    },
    close() {
      closed = true
      if (progressTimer) clearTimeout(progressTimer)
      wake?.()
    },
    get sent() {
      return sent
    },
  }
}
