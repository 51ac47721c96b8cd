// Fleet database throughput (docs/fleet-database.md, "Throughput").
//  1. The database alone: the same events from 2,000 nodes written with one
//     transaction per event-loop turn (ours) and with one commit per event
//     (the baseline), both synchronous=FULL; prints the ratio.
//  2. Over HTTP against a real `imgswarm serve` process: 2,000 simulated
//     nodes posting every 5 s (400 events/s) for --seconds, then as many
//     concurrent posters as --posters back to back: the rate held, p50/p99.
//   node bench/fleet/run.ts [--seconds 30] [--posters 64] [--events 20000]
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { openFleet } from '../../seeder/fleet/index.ts'
import { optionsOrExit } from '../cli.ts'
import { startServe } from '../serve.ts'

const USAGE = 'usage: node bench/fleet/run.ts [--seconds N] [--posters N] [--events N] [--nodes N]'
const opts = optionsOrExit(() => {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '30' },
      posters: { type: 'string', default: '64' },
      events: { type: 'string', default: '20000' },
      nodes: { type: 'string', default: '2000' },
      help: { type: 'boolean', default: false },
    },
  })
  const n = (k: keyof typeof values) => {
    const v = Number(values[k])
    if (!Number.isInteger(v) || v < 1) throw new Error(`--${k}: a positive whole number`)
    return v
  }
  return { seconds: n('seconds'), posters: n('posters'), events: n('events'), nodes: n('nodes'), help: values.help }
}, USAGE)

const dir = mkdtempSync(join(tmpdir(), 'imgswarm-bench-fleet-'))
const ev = (i: number) => ({
  node: `node${String(i % opts.nodes).padStart(4, '0')}`,
  step: 'download' as const,
  percent: (i / opts.nodes) % 100,
  bytesDown: i * 1000,
  rateDown: 1e6,
  peers: 5,
  receivedAt: new Date().toISOString(),
  ip: '10.0.0.1',
})

async function dbRate(maxBatch: number, name: string): Promise<number> {
  const fleet = openFleet({ file: join(dir, `${name}.db`), maxBatch })
  const t0 = process.hrtime.bigint()
  // Waves of one "5 s tick" of the fleet: every node posts once.
  for (let i = 0; i < opts.events; i += opts.nodes) {
    const wave: Promise<void>[] = []
    for (let j = i; j < Math.min(i + opts.nodes, opts.events); j++) wave.push(fleet.addEvent(ev(j)))
    await Promise.all(wave)
  }
  const s = Number(process.hrtime.bigint() - t0) / 1e9
  const commits = fleet.stats.commits
  await fleet.stop()
  console.log(
    `  ${name.padEnd(22)} ${opts.events} events, ${commits} commits, ${(opts.events / s).toFixed(0)} events/s`,
  )
  return opts.events / s
}

/** CPU seconds (user + system) a process has used; USER_HZ is 100 on Linux. */
function cpuOf(pid: number | undefined): number {
  try {
    const rest = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ').pop()?.split(' ') ?? []
    return (Number(rest[11]) + Number(rest[12])) / 100
  } catch {
    return 0
  }
}

/** Every one of `nodes` posts once per `everyMs` for `seconds`, spread evenly; returns acked, wanted and latencies. */
async function fixedRate(url: string, nodes: number, everyMs: number, seconds: number) {
  const lat: number[] = []
  const wanted = Math.round((nodes * seconds * 1000) / everyMs)
  let ok = 0
  const t0 = performance.now()
  const inflight: Promise<void>[] = []
  for (let i = 0; i < wanted; i++) {
    const wait = t0 + (i * everyMs) / nodes - performance.now()
    if (wait > 1) await new Promise((r) => setTimeout(r, wait))
    inflight.push(post(url, i, lat).then((y) => void (y && ok++)))
  }
  await Promise.all(inflight)
  return { ok, wanted, lat, seconds: (performance.now() - t0) / 1000 }
}

/** An SSE client that counts what it receives until aborted. */
function watchStream(url: string, token: string, signal: AbortSignal) {
  const got = { node: 0, fleet: 0, bytes: 0 }
  const done = (async () => {
    const res = await fetch(`${url}/api/v1/stream`, { headers: { authorization: `Bearer ${token}` }, signal })
    if (!res.body) return
    try {
      for await (const c of res.body) {
        const text = Buffer.from(c as Uint8Array).toString()
        got.bytes += text.length
        got.node += text.split('event: node\n').length - 1
        got.fleet += text.split('event: fleet\n').length - 1
      }
    } catch {
      // aborted
    }
  })().catch(() => undefined)
  return { got, done }
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? 0
}

async function post(url: string, i: number, lat: number[]): Promise<boolean> {
  const t = performance.now()
  try {
    const r = await fetch(`${url}/api/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ node: ev(i).node, step: 'download', percent: 50, bytesDown: i, rateDown: 1e6, peers: 5 }),
    })
    await r.arrayBuffer()
    lat.push(performance.now() - t)
    return r.status === 202
  } catch {
    return false
  }
}

try {
  console.log(`1. database alone (${opts.nodes} nodes, synchronous=FULL)`)
  const base = await dbRate(1, 'commit per event')
  const ours = await dbRate(2000, 'one commit per turn')
  console.log(`  ratio: ${(ours / base).toFixed(1)}x\n`)

  console.log('2. HTTP against imgswarm serve (own process)')
  const { url, child } = await startServe(join(dir, 'store'))
  try {
    // Fixed rate: every node once per 5 s, spread evenly.
    const r = await fixedRate(url, opts.nodes, 5000, opts.seconds)
    console.log(
      `  ${opts.nodes} nodes every 5 s for ${opts.seconds} s: offered ${(r.wanted / opts.seconds).toFixed(0)}/s, ` +
        `acknowledged ${r.ok} of ${r.wanted} (${(r.ok / r.seconds).toFixed(0)}/s), p50 ${pct(r.lat, 50).toFixed(1)} ms, p99 ${pct(r.lat, 99).toFixed(1)} ms`,
    )
    // The stream's cost: 500 nodes every 3 s, without and then with 5 dashboards watching.
    const token = readFileSync(join(dir, 'store', 'keys', 'admin.token'), 'utf8').trim()
    const phase = async (watchers: number) => {
      const ac = new AbortController()
      const ws = Array.from({ length: watchers }, () => watchStream(url, token, ac.signal))
      const c0 = cpuOf(child.pid)
      const q = await fixedRate(url, 500, 3000, 15)
      const cpu = (cpuOf(child.pid) - c0) / q.seconds
      ac.abort()
      await Promise.all(ws.map((w) => w.done))
      const per = ws[0]?.got
      console.log(
        `  500 nodes every 3 s, ${watchers} stream client(s): server CPU ${(cpu * 100).toFixed(0)}% of a core, ` +
          `p99 ${pct(q.lat, 99).toFixed(1)} ms` +
          (per
            ? `; each client got ${(per.node / q.seconds).toFixed(0)} node updates/s, ${(per.bytes / q.seconds / 1024).toFixed(0)} KiB/s`
            : ''),
      )
      return cpu
    }
    const quiet = await phase(0)
    const watched = await phase(5)
    console.log(
      `  stream cost: ${((watched / Math.max(quiet, 0.001) - 1) * 100).toFixed(0)}% more server CPU with 5 clients\n`,
    )
    // Saturation: back-to-back posters.
    const lat2: number[] = []
    let ok2 = 0
    const end = performance.now() + 10_000
    const t1 = performance.now()
    await Promise.all(
      Array.from({ length: opts.posters }, async (_, p) => {
        for (let i = p; performance.now() < end; i += opts.posters) if (await post(url, i, lat2)) ok2++
      }),
    )
    const s2 = (performance.now() - t1) / 1000
    console.log(
      `  ${opts.posters} posters back to back for 10 s: ${(ok2 / s2).toFixed(0)} events/s acknowledged, p50 ${pct(lat2, 50).toFixed(1)} ms, p99 ${pct(lat2, 99).toFixed(1)} ms`,
    )
  } finally {
    child.kill('SIGTERM')
    await new Promise((r) => child.once('exit', r))
  }
} finally {
  rmSync(dir, { recursive: true, force: true })
}
