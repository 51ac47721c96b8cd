// Tracker benchmark: announces per second and latency of `imgswarm tracker`
// against Debian's opentracker, same run, same wrk load; then the memory our
// tracker needs per 10,000 peers. `node bench/tracker/run.ts [--seconds N]`
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { Agent } from 'node:http'
import { parseArgs } from 'node:util'
import { type LoadResult, type LoadSpec, runLoad, writeScript } from './load.ts'
import { get, populate } from './populate.ts'
import { rssBytes, type Side, startOpentracker, startOurs, stopAll, tempDir } from './sides.ts'

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '8' },
    runs: { type: 'string', default: '3' },
    swarms: { type: 'string', default: '200' },
    peers: { type: 'string', default: '50' },
    connections: { type: 'string', default: '64' },
  },
})
const RUNS = Math.min(Number(values.runs), 9)
const spec: Omit<LoadSpec, 'hashes'> = {
  peersPerSwarm: Math.min(Number(values.peers), 1000),
  connections: Math.min(Number(values.connections), 1000),
  seconds: Math.min(Number(values.seconds), 60),
}
const SWARMS = Math.min(Number(values.swarms), 5000)
const hashes = Array.from({ length: SWARMS }, (_, i) => createHash('sha1').update(`bench-swarm-${i}`).digest('hex'))
const log = (line: string) => process.stderr.write(`bench: ${line}\n`)

function ensure(tool: string, pkg: string): void {
  if (spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status === 0) return
  if (process.getuid?.() !== 0) throw new Error(`${tool} is missing: apt-get install ${pkg} (as root)`)
  log(`installing ${pkg}`)
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
  if (spawnSync('apt-get', ['install', '-y', pkg], { stdio: 'inherit', env }).status !== 0) {
    spawnSync('apt-get', ['update'], { stdio: 'inherit', env })
    if (spawnSync('apt-get', ['install', '-y', pkg], { stdio: 'inherit', env }).status !== 0) {
      throw new Error(`apt-get install ${pkg} failed`)
    }
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2
}

function row(cells: (string | number)[], widths: number[]): string {
  return cells.map((c, i) => String(c).padEnd(widths[i] ?? 0)).join('  ')
}

async function throughput(): Promise<void> {
  const dir = tempDir('imgswarm-bench-load-')
  const full: LoadSpec = { ...spec, hashes }
  const script = writeScript(dir, full)
  const sides: Side[] = [await startOurs(hashes), await startOpentracker(hashes)]
  const results = new Map<string, LoadResult[]>(sides.map((s) => [s.name, []]))
  for (const s of sides) {
    // Both must accept the load's announces, or their numbers mean nothing.
    const failure = await populate(s.port, hashes, spec.peersPerSwarm)
    if (failure !== undefined) throw new Error(`${s.name} refused the load's announces: ${failure}`)
    log(`${s.name} on port ${s.port}: ${SWARMS} swarms × ${spec.peersPerSwarm} peers announced; warming up`)
    await runLoad(s.port, script, { ...full, seconds: 2 })
  }
  for (let run = 1; run <= RUNS; run++) {
    // Alternate who goes first so drift on a shared machine hits both sides.
    for (const s of run % 2 ? sides : [...sides].reverse()) {
      const r = await runLoad(s.port, script, full)
      if (r.errors > 0) log(`${s.name} run ${run}: ${r.errors} socket errors or non-2xx replies`)
      log(`${s.name} run ${run}: ${Math.round(r.perSecond)} announces/s, p50 ${r.p50ms} ms, p99 ${r.p99ms} ms`)
      results.get(s.name)?.push(r)
    }
  }
  for (const s of sides) await s.stop()

  const summary = sides.map((s) => {
    const rs = results.get(s.name) as LoadResult[]
    return {
      name: s.name,
      rps: median(rs.map((r) => r.perSecond)),
      p50: median(rs.map((r) => r.p50ms)),
      p99: median(rs.map((r) => r.p99ms)),
    }
  })
  const [ours, base] = summary as [(typeof summary)[0], (typeof summary)[0]]
  const w = [12, 26, 8, 8]
  process.stdout.write(
    `\nHTTP announces, ${SWARMS} swarms × ${spec.peersPerSwarm} peers, compact, numwant 50, wrk 1 thread × ${spec.connections} connections, ${spec.seconds} s × ${RUNS} runs\n`,
  )
  process.stdout.write(`${row(['side', 'announces/s (median of ' + RUNS + ')', 'p50 ms', 'p99 ms'], w)}\n`)
  for (const s of summary)
    process.stdout.write(`${row([s.name, Math.round(s.rps), s.p50.toFixed(2), s.p99.toFixed(2)], w)}\n`)
  process.stdout.write(
    `${row(['ratio', (ours.rps / base.rps).toFixed(2), (ours.p50 / base.p50).toFixed(2), (ours.p99 / base.p99).toFixed(2)], w)}   (imgswarm / opentracker)\n`,
  )
}

/** V8 heap in use, from our /metrics; undefined for opentracker. */
async function heapMB(side: Side): Promise<number | undefined> {
  if (side.name !== 'imgswarm') return undefined
  const text = await get(new Agent(), side.port, '/metrics')
  const m = /^nodejs_heap_size_used_bytes (\d+)$/m.exec(text)
  return m ? Number(m[1]) / 1e6 : undefined
}

async function memory(): Promise<void> {
  const PEERS = 10_000
  const layouts = [
    { swarms: 1, peers: PEERS },
    { swarms: 100, peers: PEERS / 100 },
  ]
  process.stdout.write(`\nMemory for ${PEERS} distinct peers (RSS after announcing minus RSS before)\n`)
  const w = [12, 12, 10, 10, 16, 16]
  process.stdout.write(`${row(['side', 'layout', 'RSS MB', 'after MB', 'RSS MB/10k peers', 'heap MB/10k peers'], w)}\n`)
  for (const layout of layouts) {
    const hs = hashes.slice(0, layout.swarms)
    for (const start of [startOurs, startOpentracker]) {
      const side = await start(hs)
      await new Promise((r) => setTimeout(r, 1000))
      const before = rssBytes(side.pid)
      const heapBefore = await heapMB(side)
      const failure = await populate(side.port, hs, layout.peers, side.name === 'imgswarm')
      if (failure !== undefined) throw new Error(`${side.name} refused: ${failure}`)
      await new Promise((r) => setTimeout(r, 1000))
      const after = rssBytes(side.pid)
      const heapAfter = await heapMB(side)
      const scale = 10_000 / PEERS
      const heap =
        heapBefore === undefined || heapAfter === undefined ? '-' : ((heapAfter - heapBefore) * scale).toFixed(1)
      const cells = [
        side.name,
        `${layout.swarms} × ${layout.peers}`,
        (before / 1e6).toFixed(1),
        (after / 1e6).toFixed(1),
        (((after - before) / 1e6) * scale).toFixed(1),
        heap,
      ]
      process.stdout.write(`${row(cells, w)}\n`)
      await side.stop()
    }
  }
}

const interrupted = (sig: NodeJS.Signals) => {
  log(`${sig}: stopping the trackers`)
  stopAll().finally(() => process.exit(130))
}
process.once('SIGINT', interrupted)
process.once('SIGTERM', interrupted)

try {
  ensure('opentracker', 'opentracker')
  ensure('wrk', 'wrk')
  await throughput()
  await memory()
} catch (e) {
  process.exitCode = 1
  log(`failed: ${(e as Error).stack ?? e}`)
} finally {
  await stopAll()
}
