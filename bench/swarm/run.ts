// Swarm benchmark: imgswarm against the Kumar-Ross bound, unicast HTTP,
// udpcast multicast and an aria2c swarm, on a simulated fleet (network
// namespaces, tc-shaped links), same image and shaping for every method.
// See docs/bench-swarm.md.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { errors, ImgswarmError } from '../../common/errors.ts'
import { cleanupStale, createFleet, type Fleet, fleetUnsupported } from '../../fleetsim/index.ts'
import { optionsOrExit } from '../cli.ts'
import { aria2 } from './aria2.ts'
import { multicast, unicast } from './baselines.ts'
import { peerBound, type Rates, unicastBound } from './bound.ts'
import { fetchAll } from './fetch.ts'
import { prepareImage, writePlans } from './image.ts'
import { type Ctx, clearDirs, type MethodResult } from './method.ts'
import { ours } from './ours.ts'
import { type FleetResult, formatFleet, formatTargets } from './report.ts'
import { startServe } from './server.ts'
import { ensureTools, launcher } from './tools.ts'

const REPO = resolve(import.meta.dirname, '../..')
const METHODS = ['imgswarm', 'unicast', 'multicast', 'aria2c', 'fetch'] as const
/** The issue-6 table; `fetch` (content distribution, docs/content.md) only when asked for. */
const DEFAULT_METHODS = 'imgswarm,unicast,multicast,aria2c'
type Method = (typeof METHODS)[number]
const USAGE = `usage: node bench/swarm/run.ts [options]   (as root)
  --nodes LIST       fleet sizes, comma-separated (default 1,8,24,48; --sizes is the same)
  --image-mb N       image size in MB (default 200)
  --node-mbit N      node link rate, up and down, Mbit/s (default 50)
  --server-mbit N    server link rate, Mbit/s (default 50)
  --latency-ms N     netem delay per direction on every link (default 0)
  --runs N           runs of each method per fleet size; the table shows medians (default 1)
  --fault            also an imgswarm run with 25% of the nodes SIGKILLed at 50% progress
  --methods LIST     subset of ${METHODS.join(',')} (default: ${DEFAULT_METHODS});
                     fetch: imgswarm fetch of the same tree, published as content
  --from-source      run imgswarm from the TypeScript sources, not a fresh bundle
  --work DIR         work directory on a disk (default .bench-out/swarm)
  --keep             keep the generated store for the next run`

const log = (line: string) => process.stderr.write(`bench: ${line}\n`)
const list = (v: string) => v.split(',').filter(Boolean)

function options() {
  const { values } = parseArgs({
    options: {
      nodes: { type: 'string' },
      sizes: { type: 'string' },
      'image-mb': { type: 'string', default: '200' },
      'node-mbit': { type: 'string', default: '50' },
      'server-mbit': { type: 'string', default: '50' },
      'latency-ms': { type: 'string', default: '0' },
      runs: { type: 'string', default: '1' },
      fault: { type: 'boolean', default: false },
      methods: { type: 'string', default: DEFAULT_METHODS },
      'from-source': { type: 'boolean', default: false },
      work: { type: 'string' },
      keep: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  })
  const number = (flag: string, v: string, min: number, max: number, whole = true) => {
    const n = Number(v)
    if (!(n >= min && n <= max && (!whole || Number.isInteger(n)))) {
      throw errors.usage(`--${flag} ${v}: want ${whole ? 'a whole number' : 'a number'} from ${min} to ${max}`)
    }
    return n
  }
  const nodes = list(values.nodes ?? values.sizes ?? '1,8,24,48').map((n) => number('nodes', n, 1, 64))
  const methods = list(values.methods)
  for (const m of methods)
    if (!(METHODS as readonly string[]).includes(m)) throw errors.usage(`--methods: unknown ${m}`)
  return {
    help: values.help,
    nodes,
    imageMb: number('image-mb', values['image-mb'], 1, 100_000),
    nodeMbit: number('node-mbit', values['node-mbit'], 0.1, 10_000, false),
    serverMbit: number('server-mbit', values['server-mbit'], 0.1, 10_000, false),
    latencyMs: number('latency-ms', values['latency-ms'], 0, 10_000),
    runs: number('runs', values.runs, 1, 100),
    fault: values.fault,
    methods: methods as Method[],
    fromSource: values['from-source'],
    keep: values.keep,
    work: resolve(values.work ?? join(REPO, '.bench-out/swarm')),
  }
}
type Opts = ReturnType<typeof options>

/** A rough lower estimate of the whole run, so nobody starts a two-hour run by surprise. */
function estimate(o: Opts, bytes: number): number {
  let s = 0
  for (const n of o.nodes) {
    const r = rates(o, n, bytes)
    const t = peerBound(r)
    if (o.methods.includes('imgswarm')) s += o.runs * 1.5 * t + (o.fault ? 1.5 * t : 0)
    if (o.methods.includes('fetch')) s += o.runs * 1.5 * t
    if (o.methods.includes('unicast')) s += o.runs * unicastBound(r)
    if (o.methods.includes('multicast')) s += o.runs * ((bytes * 8) / Math.min(r.serverUpBps, r.nodeDownBps))
    if (o.methods.includes('aria2c')) s += o.runs * 2 * t
    s += 30
  }
  return s
}

function rates(o: Opts, nodes: number, bytes: number): Rates {
  const node = o.nodeMbit * 1e6
  return { bytes, nodes, serverUpBps: o.serverMbit * 1e6, nodeUpBps: node, nodeDownBps: node }
}

async function safely(what: string, runs: MethodResult[], f: () => Promise<MethodResult>): Promise<void> {
  log(`  ${what} ...`)
  try {
    const r = await f()
    runs.push(r)
    const failed = r.failed.length ? `, ${r.failed.length} FAILED: ${r.failed.slice(0, 3).join('; ')}` : ''
    log(
      `  ${what}: last ${r.last.toFixed(1)} s, p50 ${r.p50.toFixed(1)} s, server sent ${(r.serverTx / 1e6).toFixed(0)} MB${failed}`,
    )
  } catch (e) {
    if (ac.signal.aborted) throw e
    log(`  ${what} failed: ${(e as Error).message}`)
  }
}

async function fleetRun(o: Opts, base: Omit<Ctx, 'fleet' | 'work'>, n: number): Promise<FleetResult> {
  const r = rates(o, n, base.image.bytes)
  log(`N=${n}: creating the fleet (bound T* ${peerBound(r).toFixed(1)} s)`)
  const fleet: Fleet = await createFleet({
    nodes: n,
    nodeUpBps: r.nodeUpBps,
    nodeDownBps: r.nodeDownBps,
    serverUpBps: r.serverUpBps,
    latencyMs: o.latencyMs,
  })
  fleets.add(fleet)
  const ctx: Ctx = { ...base, fleet, work: join(o.work, `n${n}`) }
  const runs: MethodResult[] = []
  try {
    mkdirSync(ctx.work, { recursive: true })
    writePlans(
      base.image.store,
      fleet.nodes.map((h) => h.name),
    )
    const wantServe = ['imgswarm', 'unicast', 'fetch'].some((m) => o.methods.includes(m as Method))
    const serve = wantServe
      ? await startServe(
          fleet.server,
          base.launcher,
          base.image,
          fleet.nodes[0]?.name as string,
          join(ctx.work, 'serve.log'),
        )
      : undefined
    try {
      for (let i = 0; i < o.runs && serve; i++) {
        if (o.methods.includes('imgswarm')) await safely('imgswarm', runs, () => ours(ctx, serve, false))
        if (o.methods.includes('fetch')) await safely('imgswarm fetch', runs, () => fetchAll(ctx, serve))
        if (o.methods.includes('unicast')) await safely('unicast', runs, () => unicast(ctx, serve))
      }
      if (o.fault && serve) await safely('imgswarm fault', runs, () => ours(ctx, serve, true))
    } finally {
      await serve?.stop()
    }
    for (let i = 0; i < o.runs; i++) {
      if (o.methods.includes('multicast')) await safely('multicast', runs, () => multicast(ctx))
      if (o.methods.includes('aria2c')) await safely('aria2c', runs, () => aria2(ctx))
    }
  } finally {
    clearDirs(ctx)
    await fleet.destroy()
    fleets.delete(fleet)
  }
  return { nodes: n, rates: r, runs }
}

async function main(o: Opts): Promise<void> {
  const why = fleetUnsupported()
  if (why) throw errors.usage(`cannot simulate a fleet here: ${why}`, 'run it as root on Linux with ip and tc')
  ensureTools(log)
  mkdirSync(o.work, { recursive: true })
  const removed = await cleanupStale()
  if (removed.length) log(`removed ${removed.length} leftover(s) of an earlier fleet`)
  const l = await launcher(REPO, o.work, o.fromSource)
  log(`imgswarm runs from the ${l.what}`)
  const image = await prepareImage(l, o.work, o.imageMb, log)
  log(`image: ${(image.bytes / 1e6).toFixed(1)} MB archive, ${image.files} files`)
  log(`this run takes at least ${(estimate(o, image.bytes) / 60).toFixed(0)} min (the bounds plus fleet set-up)`)
  const linkBps = Math.min(o.serverMbit, o.nodeMbit) * 1e6
  const base = { image, launcher: l, linkBps, signal: ac.signal, log }
  const results: FleetResult[] = []
  const started = Date.now()
  for (const n of o.nodes) {
    results.push(await fleetRun(o, base, n))
    log(`\n${formatFleet(results.at(-1) as FleetResult)}\n`)
  }
  const head =
    `swarm benchmark: image ${(image.bytes / 1e6).toFixed(1)} MB (${image.files} files), node links ${o.nodeMbit} Mbit/s up and down, ` +
    `server ${o.serverMbit} Mbit/s, latency ${o.latencyMs} ms, ${o.runs} run(s); machine: ${cpus().length} cores; ` +
    `took ${((Date.now() - started) / 60000).toFixed(1)} min`
  const legend =
    'last/p50/p90: seconds from start until a node has the whole image extracted (imgswarm: verified);\n' +
    '/bound: last over T*; ours/it: imgswarm last over this method last (< 1: imgswarm faster);\n' +
    'srv copies: bytes the server host sent (interface counter) over the archive size.'
  const tables = results.map(formatFleet).join('\n\n')
  process.stdout.write(`${[head, '', tables, '', formatTargets(results), '', legend].join('\n')}\n`)
  const file = join(o.work, '..', 'swarm-result.json')
  const machine = { cores: cpus().length, cpu: cpus()[0]?.model, memoryGB: totalmem() / 1e9, node: process.version }
  writeFileSync(
    file,
    `${JSON.stringify({ date: new Date().toISOString(), machine, options: o, image, results }, null, 2)}\n`,
  )
  log(`results: ${file}`)
}

const ac = new AbortController()
const fleets = new Set<Fleet>()
const opts: Opts = optionsOrExit(options, USAGE)
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    log(`${sig}: stopping and cleaning up`)
    ac.abort()
  })
}

let code = 0
try {
  await main(opts)
} catch (e) {
  code = e instanceof ImgswarmError ? e.exitCode : 1
  console.error(`bench: error${e instanceof ImgswarmError ? ` ${e.code}` : ''}: ${(e as Error).message}`)
  if (e instanceof ImgswarmError && e.hint) console.error(`  what to do: ${e.hint}`)
} finally {
  await Promise.all([...fleets].map((f) => f.destroy()))
  rmSync(join(opts.work, 'imgswarm.mjs'), { force: true })
  if (!opts.keep) rmSync(opts.work, { recursive: true, force: true })
}
process.exitCode = code
