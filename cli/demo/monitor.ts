// Runs the nodes' installs and shows them live until every node has exited:
// the server's events (and its seeder counter) polled every second, the
// nodes' console lines for their steps, drawn on a terminal or as log lines.
import { setTimeout as sleep } from 'node:timers/promises'
import { errors } from '../../common/errors.ts'
import { formatDuration } from '../../common/progress.ts'
import type { ApiClient } from './api.ts'
import { type InstallInit, type InstallRun, startInstall } from './procs.ts'
import { headline, renderBlock, TtyView } from './render.ts'
import { applyEvents, type FleetState, newFleetState, setStep } from './state.ts'
import type { DemoHost } from './topology.ts'

export interface MonitorInit {
  hosts: DemoHost[]
  install: (h: DemoHost) => Omit<InstallInit, 'host' | 'onStep'>
  api: ApiClient
  archiveBytes: number
  signal: AbortSignal
  /** Rejects if the server dies. */
  serverDied: Promise<never>
  timeoutMs: number
  out: NodeJS.WriteStream
  /** Redraw in place (a terminal) or print log lines. */
  tty: boolean
}

export interface MonitorResult {
  state: FleetState
  runs: InstallRun[]
  results: { code: number | null; signal: NodeJS.Signals | null; stdout: string }[]
}

const PLAIN_EVERY_MS = 5000
const POLL_MS = 1000

export async function runFleet(o: MonitorInit): Promise<MonitorResult> {
  const started = performance.now()
  const state = newFleetState(
    o.hosts.map((h) => h.name),
    o.archiveBytes,
    started,
  )
  const say = (l: string) => o.out.write(`${l}\n`)
  const elapsed = () => formatDuration((performance.now() - started) / 1000)
  const runs = o.hosts.map((h, i) => {
    const n = state.nodes[i] as FleetState['nodes'][number]
    return startInstall({
      ...o.install(h),
      host: h,
      onStep: (step) => {
        const before = n.installedAt
        setStep(n, step, performance.now(), started)
        if (!o.tty && before === undefined && n.installedAt !== undefined) {
          say(`${elapsed()}  ${n.name} installed and verified after ${n.installedAt.toFixed(1)} s`)
        }
      },
    })
  })
  const all = Promise.all(
    runs.map((r, i) =>
      r.result.then((res) => {
        const n = state.nodes[i] as FleetState['nodes'][number]
        n.exit = { code: res.code, signal: res.signal }
        if (res.code !== 0 && !o.tty) say(`${elapsed()}  ${n.name} FAILED (exit ${res.signal ?? res.code})`)
        return res
      }),
    ),
  )
  const view = o.tty ? new TtyView(o.out) : undefined
  const draw = () => {
    const now = performance.now()
    if (view) view.draw(renderBlock(state, now, o.out.columns || 80, o.out.rows || 24))
    else say(headline(state, now))
  }
  // The newest events are enough: what a node reported earlier is already merged.
  const limit = Math.min(10_000, Math.max(200, o.hosts.length * 20))
  let finished = false
  const poll = async () => {
    let lastPlain = performance.now()
    while (!finished) {
      try {
        applyEvents(state, await o.api.events(limit), performance.now())
        state.seederUploaded = await o.api.seederUploaded()
      } catch {
        // A missed poll only delays the display.
      }
      if (view || performance.now() - lastPlain >= PLAIN_EVERY_MS) {
        lastPlain = performance.now()
        if (!finished) draw()
      }
      await sleep(POLL_MS)
    }
  }
  const polling = poll()
  const aborted = new Promise<never>((_, reject) => {
    const fail = () => reject(o.signal.reason ?? errors.usage('interrupted'))
    if (o.signal.aborted) fail()
    o.signal.addEventListener('abort', fail, { once: true })
  })
  // At the time limit the nodes still running are stopped: they show as failed in the summary.
  const timer = setTimeout(() => {
    say(`imgswarm demo: not done after ${o.timeoutMs / 1000} s (--timeout); stopping the nodes still running`)
    for (const r of runs) if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGTERM')
  }, o.timeoutMs)
  aborted.catch(() => undefined)
  try {
    const results = await Promise.race([all, aborted, o.serverDied])
    // Final numbers once every node has exited (and posted its last events).
    applyEvents(state, await o.api.events(10_000).catch(() => []), performance.now())
    state.seederUploaded = await o.api.seederUploaded().catch(() => state.seederUploaded)
    return { state, runs, results }
  } finally {
    finished = true
    clearTimeout(timer)
    await polling
    draw()
    view?.end()
    for (const r of runs) if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGTERM')
  }
}
