// The dashboard's cost in a real browser under a busy fleet (docs/dashboard.md,
// "Light and fast"). A real `imgswarm serve` (own process); --nodes simulated
// nodes each post a download event every --every seconds, spread evenly (the
// progress and rates of a fleet reimage); Debian's Chromium (playwright-core)
// has the Fleet view open, logged in, with every node's row shown. For
// --seconds it measures the page's main thread (Chrome's own Performance
// metrics: task, script, layout and style time), its long tasks (> 50 ms),
// the frames drawn and the delay from a node's event to its row showing the
// new percent. The baseline, in the same run: the same page with the same
// rows while no node posts. Prints both and the ratio.
//   node bench/dashboard/run.ts [--nodes 300] [--every 3] [--seconds 30]
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { chromium, type Page } from 'playwright-core'
import { CHROMIUM, CHROMIUM_ARGS } from '../../test/support/chromium.ts'
import { optionsOrExit } from '../cli.ts'
import { startServe } from '../serve.ts'

const USAGE = 'usage: node bench/dashboard/run.ts [--nodes N] [--every SECONDS] [--seconds N]'
const opts = optionsOrExit(() => {
  const { values } = parseArgs({
    options: {
      nodes: { type: 'string', default: '300' },
      every: { type: 'string', default: '3' },
      seconds: { type: 'string', default: '30' },
      help: { type: 'boolean', default: false },
    },
  })
  const n = (k: 'nodes' | 'every' | 'seconds') => {
    const v = Number(values[k])
    if (!Number.isFinite(v) || v <= 0) throw new Error(`--${k}: a positive number`)
    return v
  }
  return { nodes: Math.round(n('nodes')), every: n('every'), seconds: n('seconds'), help: values.help }
}, USAGE)
if (!existsSync(CHROMIUM)) {
  console.error(`${CHROMIUM} is missing: apt-get install chromium (scripts/install-deps.sh test)`)
  process.exit(2)
}

const ids = Array.from({ length: opts.nodes }, (_, i) => `node${String(i + 1).padStart(4, '0')}`)
const percent = new Map<string, number>(ids.map((id) => [id, 0]))
/** Nodes the fleet loop leaves alone, so that a probe's percent is not overwritten before it shows. */
const probes = Array.from({ length: 5 }, (_, i) => `probe${i + 1}`)

async function post(url: string, id: string, p: number): Promise<void> {
  const r = await fetch(`${url}/api/v1/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      node: id,
      step: 'download',
      percent: p,
      bytesDown: Math.round(p * 1e7),
      bytesUp: Math.round(p * 6e6),
      rateDown: 2e6 + (p % 7) * 1e5,
      rateUp: 1e6 + (p % 5) * 1e5,
      peers: 3 + Math.round(p % 9),
      bytesFromServer: Math.round(p * 3e6),
      bytesFromPeers: Math.round(p * 7e6),
      message: `piece ${Math.round(p * 10)}`,
    }),
  })
  await r.arrayBuffer()
  if (r.status !== 202) throw new Error(`POST /api/v1/events: ${r.status}`)
}

/** Every node posts once per --every seconds, spread evenly, until stopped; each post advances its percent. */
function fleet(url: string): { stop: () => Promise<void>; sent: () => number; failed: () => number } {
  let running = true
  let sent = 0
  let failed = 0
  const gapMs = (opts.every * 1000) / opts.nodes
  const loop = (async () => {
    const t0 = performance.now()
    for (let i = 0; running; i++) {
      const wait = t0 + i * gapMs - performance.now()
      if (wait > 1) await new Promise((r) => setTimeout(r, wait))
      const id = ids[i % ids.length] as string
      const p = Math.min(99.9, (percent.get(id) ?? 0) + 0.7)
      percent.set(id, p)
      post(url, id, Math.round(p * 10) / 10).then(
        () => sent++,
        () => failed++,
      )
    }
  })()
  return {
    stop: async () => {
      running = false
      await loop
    },
    sent: () => sent,
    failed: () => failed,
  }
}

/** The few browser globals the page functions use (this file is type-checked without the DOM's types). */
interface InPage {
  __bench: { long: number[]; frames: number }
  document: {
    querySelector(s: string): { textContent: string | null } | null
    querySelectorAll(s: string): { length: number }
  }
  requestAnimationFrame(fn: () => void): number
  PerformanceObserver: new (
    fn: (list: { getEntries(): { duration: number }[] }) => void,
  ) => { observe(o: { type: string }): void }
}

interface Sample {
  busy: number
  script: number
  layout: number
  style: number
  longTasks: number
  longestTask: number
  frames: number
  heapMb: number
}

/** What the page's main thread did during `seconds`. */
async function measure(page: Page, seconds: number): Promise<Sample> {
  const cdp = await page.context().newCDPSession(page)
  await cdp.send('Performance.enable', { timeDomain: 'threadTicks' })
  const metrics = async () => {
    const { metrics } = (await cdp.send('Performance.getMetrics')) as { metrics: { name: string; value: number }[] }
    return new Map(metrics.map((m) => [m.name, m.value]))
  }
  await page.evaluate(() => {
    const g = globalThis as unknown as InPage
    const w = { long: [] as number[], frames: 0 }
    g.__bench = w
    new g.PerformanceObserver((l) => {
      for (const e of l.getEntries()) w.long.push(e.duration)
    }).observe({ type: 'longtask' })
    const tick = () => {
      w.frames++
      g.requestAnimationFrame(tick)
    }
    g.requestAnimationFrame(tick)
  })
  const a = await metrics()
  await new Promise((r) => setTimeout(r, seconds * 1000))
  const b = await metrics()
  const page2 = await page.evaluate(() => (globalThis as unknown as InPage).__bench)
  await cdp.detach()
  const d = (k: string) => (b.get(k) ?? 0) - (a.get(k) ?? 0)
  return {
    busy: d('TaskDuration'),
    script: d('ScriptDuration'),
    layout: d('LayoutDuration'),
    style: d('RecalcStyleDuration'),
    longTasks: page2.long.length,
    longestTask: Math.max(0, ...page2.long),
    frames: page2.frames,
    heapMb: (b.get('JSHeapUsedSize') ?? 0) / 1e6,
  }
}

/** Milliseconds from a probe node's event being acknowledged to its row showing the new percent, sorted. */
async function showDelay(page: Page, url: string): Promise<number[]> {
  const out: number[] = []
  for (const [i, id] of probes.entries()) {
    const p = 50 + i + 0.3
    const want = `${p.toFixed(1)}%`
    await post(url, id, Number(p.toFixed(1)))
    const t0 = performance.now()
    await page.waitForFunction(
      ([id, want]) =>
        (globalThis as unknown as InPage).document.querySelector(`tr[data-id="${id}"] .pct`)?.textContent === want,
      [id, want],
      { timeout: 30_000, polling: 50 },
    )
    out.push(performance.now() - t0)
  }
  return out.sort((x, y) => x - y)
}

const dir = mkdtempSync(join(tmpdir(), 'imgswarm-bench-dashboard-'))
const { url, child } = await startServe(join(dir, 'store'))
const browser = await chromium.launchPersistentContext(join(dir, 'chromium'), {
  executablePath: CHROMIUM,
  headless: true,
  args: CHROMIUM_ARGS,
  viewport: { width: 1440, height: 900 },
})
try {
  const token = readFileSync(join(dir, 'store', 'keys', 'admin.token'), 'utf8').trim()
  // Every node known before the page opens (one event each).
  const all = [...ids, ...probes]
  for (let i = 0; i < all.length; i += 50) await Promise.all(all.slice(i, i + 50).map((id) => post(url, id, 0)))
  const page = browser.pages()[0] ?? (await browser.newPage())
  const errors: string[] = []
  page.on('pageerror', (e) => errors.push(e.message))
  await page.goto(url)
  await page.check('input[name=mode][value=token]')
  await page.fill('#secret', token)
  const t0 = performance.now()
  await page.click('#login-submit')
  await page.waitForFunction(
    (n) => (globalThis as unknown as InPage).document.querySelectorAll('#nodes tbody tr').length >= n,
    all.length,
    { timeout: 120_000 },
  )
  const loginMs = performance.now() - t0

  const idle = await measure(page, opts.seconds)
  const f = fleet(url)
  await new Promise((r) => setTimeout(r, 2000)) // the stream is under way
  const busy = await measure(page, opts.seconds)
  const delays = await showDelay(page, url)
  await f.stop()
  if (errors.length > 0) throw new Error(`page errors: ${errors.join('; ')}`)

  const rate = opts.nodes / opts.every
  console.log(
    `dashboard, Fleet view, ${opts.nodes} node rows; ${opts.seconds} s per phase; ` +
      `${rate.toFixed(0)} events/s posted (${f.sent()} acknowledged, ${f.failed()} failed)`,
  )
  console.log(`login to ${opts.nodes} rows shown: ${(loginMs / 1000).toFixed(2)} s`)
  const row = (name: string, s: Sample) =>
    `${name.padEnd(34)} ${((100 * s.busy) / opts.seconds).toFixed(1).padStart(5)} %  ` +
    `${s.script.toFixed(2).padStart(6)} ${s.layout.toFixed(2).padStart(6)} ${s.style.toFixed(2).padStart(6)}  ` +
    `${String(s.longTasks).padStart(4)} ${s.longestTask.toFixed(0).padStart(5)} ms  ` +
    `${(s.frames / opts.seconds).toFixed(0).padStart(4)}  ${s.heapMb.toFixed(1).padStart(5)}`
  console.log(
    `${''.padEnd(34)} ${'busy'.padStart(7)}  ${'script'.padStart(6)} ${'layout'.padStart(6)} ${'style'.padStart(6)}  ${'long'.padStart(4)} ${'max'.padStart(8)}  ${'fps'.padStart(4)}  ${'heap MB'}`,
  )
  console.log(row('baseline: same rows, no events', idle))
  console.log(row(`${opts.nodes} nodes, each every ${opts.every} s`, busy))
  console.log(
    `main thread busy: ${(busy.busy / Math.max(idle.busy, 1e-3)).toFixed(1)}x the idle page; ` +
      `per node update: ${((1000 * (busy.busy - idle.busy)) / (rate * opts.seconds)).toFixed(3)} ms`,
  )
  console.log(
    `event acknowledged -> row shows it: median ${(delays[2] ?? 0).toFixed(0)} ms, max ${(delays.at(-1) ?? 0).toFixed(0)} ms ` +
      '(the stream sends changes once a second)',
  )
} finally {
  await browser.close().catch(() => undefined)
  child.kill('SIGTERM')
  await new Promise((r) => child.once('exit', r))
  rmSync(dir, { recursive: true, force: true })
}
