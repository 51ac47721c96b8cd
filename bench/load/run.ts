// Soak and load (docs/load.md): a real `imgswarm serve` in its own process,
// driven by a simulated fleet (fleet.ts) in which every node, once per
// period, announces to the tracker, fetches its plan and posts a progress
// event; then the same fleet against the baseline (baseline.ts), a bare
// fastify with fixed answers. Prints the rate held, p50/p99 per request,
// the ratio to the baseline, serve's RSS over time and the events sent,
// acknowledged and stored.
//   node bench/load/run.ts [--nodes 2000] [--seconds 600] [--period 5] [--warmup 120]
//     [--baseline-seconds 60] [--sockets 256] [--json FILE]
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { optionsOrExit } from '../cli.ts'
import { buildFixture, type Fixture } from './fixture.ts'
import { type DriveResult, drive, serverErrors } from './fleet.ts'
import { figures, mb, type RssSample, ratioTable, rssFigures, sideTable } from './report.ts'
import { type Child, schedOf, startBaseline, startServe } from './server.ts'
import { checkStored } from './stored.ts'

const USAGE =
  'usage: node bench/load/run.ts [--nodes N] [--seconds N] [--period S] [--warmup S] [--baseline-seconds N] [--sockets N] [--json FILE]'
const opts = optionsOrExit(() => {
  const { values } = parseArgs({
    options: {
      nodes: { type: 'string', default: '2000' },
      seconds: { type: 'string', default: '600' },
      period: { type: 'string', default: '5' },
      warmup: { type: 'string', default: '120' },
      'baseline-seconds': { type: 'string', default: '60' },
      sockets: { type: 'string', default: '256' },
      json: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  })
  const n = (k: 'nodes' | 'seconds' | 'period' | 'warmup' | 'baseline-seconds' | 'sockets', min: number) => {
    const v = Number(values[k])
    if (!Number.isInteger(v) || v < min) throw new Error(`--${k}: a whole number >= ${min}`)
    return v
  }
  return {
    nodes: n('nodes', 1),
    seconds: n('seconds', 1),
    period: n('period', 1),
    warmup: n('warmup', 0),
    baselineSeconds: n('baseline-seconds', 0),
    sockets: n('sockets', 1),
    json: values.json,
    help: values.help,
  }
}, USAGE)

const log = (s: string) => process.stderr.write(`load: ${s}\n`)
const dir = mkdtempSync(join(tmpdir(), 'imgswarm-bench-load-'))
const started: Child[] = []

/** V8 heap in use and committed and external memory from serve's /metrics; {} if it does not answer in 2 s. */
async function heapOf(url: string): Promise<Pick<RssSample, 'heap' | 'heapTotal' | 'external'>> {
  try {
    const text = await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(2000) })).text()
    const get = (name: string) => {
      const m = new RegExp(`^${name} (\\d+)$`, 'm').exec(text)
      return m ? Number(m[1]) : undefined
    }
    return {
      heap: get('nodejs_heap_size_used_bytes'),
      heapTotal: get('nodejs_heap_size_total_bytes'),
      external: get('nodejs_external_memory_bytes'),
    }
  } catch {
    return {}
  }
}

function sampler(c: Child, t0: number, everyMs: number) {
  const samples: RssSample[] = [{ t: 0, rss: c.rss() }]
  const timer = setInterval(async () => {
    const sample: RssSample = { t: (performance.now() - t0) / 1000, rss: c.rss() }
    samples.push(sample)
    Object.assign(sample, await heapOf(c.url))
    const last = samples[samples.length - 1] as RssSample
    if (samples.length % 12 === 0) log(`t=${last.t.toFixed(0)} s  serve RSS ${mb(last.rss)} MiB`)
  }, everyMs)
  return {
    samples,
    stop() {
      clearInterval(timer)
      samples.push({ t: (performance.now() - t0) / 1000, rss: c.rss() })
    },
  }
}

async function ours(f: Fixture) {
  const serve = await startServe(f.store)
  started.push(serve)
  await new Promise((r) => setTimeout(r, 2000))
  const cpu0 = serve.cpuSeconds()
  const sched0 = schedOf(serve.pid)
  const t0 = performance.now()
  const rss = sampler(serve, t0, 5000)
  log(`serve pid ${serve.pid} at ${serve.url}: ${opts.nodes} nodes every ${opts.period} s for ${opts.seconds} s`)
  const r = await drive({
    url: serve.url,
    infoHash: f.infoHash,
    nodes: f.nodes,
    periodMs: opts.period * 1000,
    seconds: opts.seconds,
    sockets: opts.sockets,
  })
  rss.stop()
  const cpu = (serve.cpuSeconds() - cpu0) / r.seconds
  const sched1 = schedOf(serve.pid)
  const loop = { run: (sched1.run - sched0.run) / r.seconds, wait: (sched1.wait - sched0.wait) / r.seconds }
  // The baseline answers with what serve answered one node at the end of the load.
  const node = f.nodes[0] as (typeof f.nodes)[0]
  const q = `info_hash=${f.infoHash.replace(/../g, '%$&')}&peer_id=${node.peerId}&port=${node.port}&uploaded=0&downloaded=0&left=1000000&compact=1`
  const announce = Buffer.from(await (await fetch(`${serve.url}/announce?${q}`)).arrayBuffer())
  const plan = await (await fetch(`${serve.url}/api/v1/plan?mac=${node.mac}`)).text()
  const answers = join(dir, 'answers.json')
  writeFileSync(answers, JSON.stringify({ announce: announce.toString('base64'), plan }))
  const code = await serve.stop()
  if (code !== 0) log(`serve exited ${code}:\n${serve.output()}`)
  const stored = checkStored(f.store, r.acked, r.unacked)
  return { r, rss: rss.samples, cpu, loop, stored, answers, exit: code }
}

async function baseline(answers: string, f: Fixture): Promise<DriveResult | undefined> {
  if (opts.baselineSeconds === 0) return undefined
  const b = await startBaseline(answers)
  started.push(b)
  log(`baseline pid ${b.pid}: the same fleet for ${opts.baselineSeconds} s`)
  const r = await drive({
    url: b.url,
    infoHash: f.infoHash,
    nodes: f.nodes,
    periodMs: opts.period * 1000,
    seconds: opts.baselineSeconds,
    sockets: opts.sockets,
  })
  await b.stop()
  return r
}

function commit(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim()
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8' }).trim()
    return dirty ? `${head} (modified)` : head
  } catch {
    return 'unknown'
  }
}

try {
  const load0 = loadavg()
  log(`building the store: one packed image, a cluster config naming ${opts.nodes} nodes`)
  const f = await buildFixture(dir, opts.nodes)
  const o = await ours(f)
  const b = await baseline(o.answers, f)
  const load1 = loadavg()
  const fo = figures('imgswarm serve', o.r)
  const offered = (opts.nodes * 3) / opts.period
  const rss = rssFigures(o.rss, opts.warmup)
  const out = process.stdout
  out.write(`\nSoak and load: ${new Date().toISOString()}, commit ${commit()}, Node ${process.version}\n`)
  out.write(
    `machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, load average ${load0[0]?.toFixed(1)} before, ${load1[0]?.toFixed(1)} after\n`,
  )
  out.write(
    `fleet: ${opts.nodes} nodes × (announce + plan + event) every ${opts.period} s = ${offered.toFixed(0)} requests/s offered, ` +
      `${opts.sockets} keep-alive sockets, over 127.0.0.1\n\n`,
  )
  out.write(
    `imgswarm serve, ${o.r.seconds.toFixed(0)} s (server CPU ${(o.cpu * 100).toFixed(0)}% of a core; scheduler lag max ${o.r.maxLagMs.toFixed(0)} ms)\n`,
  )
  out.write(
    `serve's event loop thread: on a CPU ${(o.loop.run * 100).toFixed(0)}%, runnable but waiting for a CPU ` +
      `${(o.loop.wait * 100).toFixed(0)}%, asleep (idle or blocked in I/O) ${(Math.max(0, 1 - o.loop.run - o.loop.wait) * 100).toFixed(0)}% of the time\n`,
  )
  out.write(`${sideTable(fo)}\n`)
  const answered = fo.rows.reduce((a, x) => a + x.ok, 0)
  out.write(
    `rate held: ${answered} of ${o.r.slots * 3} scheduled requests answered with success ` +
      `(${((answered / (o.r.slots * 3)) * 100).toFixed(1)}%); 5xx replies: ${serverErrors(o.r)}\n\n`,
  )
  let fb: ReturnType<typeof figures> | undefined
  if (b) {
    fb = figures('baseline', b)
    out.write(`baseline (bare fastify, fixed answers), ${b.seconds.toFixed(0)} s\n${sideTable(fb)}\n\n`)
    out.write(`imgswarm serve / baseline\n${ratioTable(fo, fb)}\n\n`)
  }
  out.write(
    `serve RSS: start ${mb(rss.start)} MiB, at ${opts.warmup} s ${mb(rss.warm)} MiB, end ${mb(rss.end)} MiB, ` +
      `max ${mb(rss.max)} MiB; growth after warm-up ${rss.growthPct.toFixed(1)}% (target < 10%)\n` +
      `  medians, minute after warm-up / last minute: RSS ${mb(rss.warmMedian)} / ${mb(rss.endMedian)} MiB ` +
      `(${(((rss.endMedian - rss.warmMedian) / rss.warmMedian) * 100).toFixed(1)}%), ` +
      `JS heap in use ${mb(rss.heapWarmMedian)} / ${mb(rss.heapEndMedian)} MiB, ` +
      `committed ${mb(rss.heapTotalWarmMedian)} / ${mb(rss.heapTotalEndMedian)} MiB, ` +
      `external ${mb(rss.externalWarmMedian)} / ${mb(rss.externalEndMedian)} MiB\n`,
  )
  const ev = o.r.kinds.event
  out.write(
    `events: ${ev.sent} sent, ${o.r.acked.size} acknowledged (202), ${o.stored.rows} rows stored, ` +
      `${o.stored.lost.length} acknowledged but lost, ${o.stored.unackedStored} stored without a 202, ${o.stored.duplicates} duplicates\n`,
  )
  if (o.stored.lost.length > 0) out.write(`lost (first 10): ${o.stored.lost.slice(0, 10).join(', ')}\n`)
  if (opts.json) {
    writeFileSync(
      opts.json,
      JSON.stringify(
        {
          opts,
          commit: commit(),
          date: new Date().toISOString(),
          ours: fo,
          baseline: fb,
          rss,
          rssSamples: o.rss,
          cpu: o.cpu,
          loop: o.loop,
          stored: { ...o.stored, lost: o.stored.lost.length },
          acked: o.r.acked.size,
          sent: ev.sent,
          maxLagMs: o.r.maxLagMs,
          serverErrors: serverErrors(o.r),
          exit: o.exit,
        },
        null,
        2,
      ),
    )
  }
  if (o.stored.lost.length > 0 || serverErrors(o.r) > 0 || o.exit !== 0) process.exitCode = 1
} catch (e) {
  process.exitCode = 1
  log(`failed: ${(e as Error).stack ?? e}`)
} finally {
  for (const c of started) await c.stop()
  rmSync(dir, { recursive: true, force: true })
}
