// The fault tests' swarm: a fleet (fleetsim), a store with one packed image,
// a real `imgswarm serve` in the server host that can be killed and started
// again on the same store and port, and real `imgswarm install` processes in
// the node hosts whose console is watched while they run.
import type { ChildProcess } from 'node:child_process'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { setTimeout as sleep } from 'node:timers/promises'
import { createFleet, type Fleet, type FleetSpec, type Host } from '../../fleetsim/index.ts'
import type { Store } from '../../seeder/index.ts'
import { ENV, getIn, packedImage, type Serve, serveIn } from '../fleet/image.ts'
import { BIN } from '../support/cli.ts'

export const MB = 1e6
export const MiB = 1024 * 1024

export interface Swarm {
  dir: string
  fleet: Fleet
  store: Store
  pubkey: string
  serve: Serve
  /** kill -9 of serve; resolves once it is gone. */
  killServe(): Promise<void>
  /** serve again, same store, same port; resolves when a node gets an answer. */
  restartServe(): Promise<void>
  /** Whether a node host gets an answer from serve now (one try, 3 s). */
  serverAnswers(from: Host): Promise<boolean>
}

export interface SwarmExtra {
  /** Extra lines per host name in its [[node]] table of plans.toml (e.g. `layout = "small.toml"`). */
  nodeLines?: Record<string, string>
  /** Files written next to plans.toml (layouts). */
  files?: Record<string, string>
}

export async function startSwarm(
  dir: string,
  dataMb: number,
  spec: Omit<FleetSpec, 'tag'>,
  extra: SwarmExtra = {},
): Promise<Swarm> {
  const hostnames = Array.from({ length: spec.nodes }, (_, i) => `node${String(i + 1).padStart(2, '0')}`)
  const store = await packedImage(dir, dataMb, hostnames)
  if (extra.nodeLines !== undefined || extra.files !== undefined) {
    for (const [name, text] of Object.entries(extra.files ?? {})) await writeFile(join(store.root, name), text)
    const plans = join(store.root, 'plans.toml')
    let text = await readFile(plans, 'utf8')
    for (const [h, lines] of Object.entries(extra.nodeLines ?? {})) {
      text = text.replace(`hostname = "${h}"\n`, `hostname = "${h}"\n${lines}\n`)
    }
    await writeFile(plans, text)
  }
  const fleet = await createFleet(spec)
  const probeFrom = fleet.nodes[0] as Host
  const s: Swarm = {
    dir,
    fleet,
    store,
    pubkey: join(store.root, 'keys', 'manifest-signing.pub'),
    serve: await serveIn(fleet.server, probeFrom, store),
    async killServe() {
      const c = s.serve.child
      if (c.exitCode !== null || c.signalCode !== null) return
      const gone = new Promise((r) => c.once('exit', r))
      c.kill('SIGKILL')
      await gone
    },
    async restartServe() {
      s.serve = await serveIn(fleet.server, probeFrom, store)
    },
    async serverAnswers(from) {
      const r = await from.exec(process.execPath, ['-e', PING, `${s.serve.url}/api/v1/health/ready`], {
        timeoutMs: 10_000,
      })
      return r.code === 0
    },
  }
  return s
}

const PING = `fetch(process.argv[1], { signal: AbortSignal.timeout(3000) })
  .then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))`

export interface NodeRun {
  host: Host
  target: string
  child: ChildProcess
  /** Console so far. */
  stderr(): string
  /** When (Date.now()) each step's console line `[step] ...` first appeared. */
  steps: Map<string, number>
  /** Exit code (null: killed), the JSON summary's text and the whole console. */
  result: Promise<{ code: number | null; stdout: string; stderr: string }>
}

export interface NodeOpts {
  /** Install into this block device instead of a target folder. */
  disk?: string
  /** Install into this folder (e.g. a file system the test mounted) instead of a fresh one. */
  targetDir?: string
  seedTime?: number
  extra?: string[]
}

/** `imgswarm install` in a node host, into a fresh folder (or onto `disk`). */
export async function installOn(s: Swarm, host: Host, o: NodeOpts = {}): Promise<NodeRun> {
  const target = o.targetDir ?? join(s.dir, 'targets', host.name)
  const where = o.disk === undefined ? ['--target-dir', target] : ['--disk', o.disk, '--mount-dir', target]
  await mkdir(target, { recursive: true })
  const args = ['install', '--cmdline', 'none', '--server', s.serve.url, '--pubkey', s.pubkey, ...where]
  const child = host.spawn(
    BIN,
    [
      ...args,
      '--hostname',
      host.name,
      '--seed-time',
      String(o.seedTime ?? 60),
      '--post',
      'none',
      '--json',
      ...(o.extra ?? []),
    ],
    { env: ENV, stdio: ['ignore', 'pipe', 'pipe'] },
  )
  let stdout = ''
  let stderr = ''
  child.stdout?.on('data', (c: Buffer) => {
    stdout += c.toString()
  })
  const steps = new Map<string, number>()
  child.stderr?.on('data', (c: Buffer) => {
    stderr += c.toString()
    for (const m of c.toString().matchAll(/^\[([a-z]+)\] /gm))
      if (!steps.has(m[1] as string)) steps.set(m[1] as string, Date.now())
  })
  const result = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.once('close', (code) => resolve({ code, stdout, stderr })),
  )
  return { host, target, child, stderr: () => stderr, steps, result }
}

/** Polls `cond` every 200 ms until it holds; throws with `what` after `ms`. */
export async function until(what: string, ms: number, cond: () => boolean | Promise<boolean>): Promise<void> {
  const end = Date.now() + ms
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out after ${ms / 1000} s waiting for ${what}`)
    await sleep(200)
  }
}

export interface Summary {
  inPlace: boolean
  image_stats: {
    bytesDown: number
    bytesFromPeers: number
    bytesFromWebseed: number
    piecesFailed: number
    peersBanned: number
  }
}

export interface InstallRow {
  node: string
  result: string
  code: string | null
}

/** The fleet database's install rows (read after serve stopped, or while it runs: WAL readers are fine). */
export function installRows(store: Store): InstallRow[] {
  const db = new DatabaseSync(join(store.root, 'fleet.db'), { readOnly: true })
  try {
    return db.prepare('SELECT node, result, code FROM installs ORDER BY id').all() as unknown as InstallRow[]
  } finally {
    db.close()
  }
}

/** The events serve stored, fetched from inside the fleet. */
export async function eventsOf(s: Swarm): Promise<{ node: string; step: string; code?: string }[]> {
  const body = await getIn(s.fleet.nodes[0] as Host, `${s.serve.url}/api/v1/events?limit=10000`, await s.serve.token())
  if (body === undefined) throw new Error(`GET events failed:\n${s.serve.log()}`)
  return (JSON.parse(body) as { events: { node: string; step: string; code?: string }[] }).events
}

/** Sum of what the nodes received at their switch ports. */
export function nodesReceived(bytes: Map<string, { toHost: number }>): number {
  let sum = 0
  for (const [name, b] of bytes) if (name !== 'server') sum += b.toHost
  return sum
}

/** Every run's result; after `ms`, throws with the tail of each unfinished node's console (and `more()`). */
export async function allResults(runs: NodeRun[], ms: number, more: () => string = () => '') {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const tails = runs
        .filter((r) => r.child.exitCode === null)
        .map((r) => `--- ${r.host.name}:\n${r.stderr().split('\n').slice(-15).join('\n')}`)
      reject(new Error(`installs still running after ${ms / 1000} s:\n${tails.join('\n')}\n${more()}`))
    }, ms)
  })
  try {
    return await Promise.race([Promise.all(runs.map((r) => r.result)), late])
  } finally {
    clearTimeout(timer)
  }
}
