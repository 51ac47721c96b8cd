// The programs compared, each run as its own process: our engine (peer.ts)
// and aria2c, as leecher and as seeder. Times are wall clock from spawn to
// exit for every leecher, so process start-up counts on both sides.
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const PEER = join(import.meta.dirname, 'peer.ts')
const children = new Set<ChildProcess>()

export interface LeechResult {
  ms: number
  /** Our leecher only: from startSwarm() to done, inside the process (no process start-up). */
  innerMs?: number
  /** Our leecher only. */
  peakRssMb?: number
  failed?: number
  /** User + system CPU seconds of the leecher process (GNU time). */
  cpuS?: number
}

function start(cmd: string, args: string[]): ChildProcess {
  const c = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] })
  children.add(c)
  c.once('exit', () => children.delete(c))
  return c
}

async function output(c: ChildProcess, what: string): Promise<string> {
  let out = ''
  c.stdout?.on('data', (d: Buffer) => {
    out += d.toString()
  })
  const [code] = (await once(c, 'exit')) as [number | null]
  if (code !== 0) throw new Error(`${what} exited with ${code}`)
  return out
}

/** Runs a leecher under GNU time; resolves with its stdout and its CPU seconds. */
async function timed(cmd: string, args: string[], what: string): Promise<{ out: string; cpuS: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'tp-time-'))
  const f = join(dir, 'time')
  try {
    const out = await output(start('/usr/bin/time', ['-f', '%U %S', '-o', f, cmd, ...args]), what)
    const [u, s] = readFileSync(f, 'utf8').trim().split('\n').pop()?.split(' ').map(Number) ?? []
    return { out, cpuS: (u ?? Number.NaN) + (s ?? Number.NaN) }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

export function stopAll(): void {
  for (const c of children) c.kill('SIGTERM')
}

/** Starts our seeder; resolves with its listen port once it is ready. */
export async function oursSeed(torrentFile: string, dir: string): Promise<{ port: number; stop: () => Promise<void> }> {
  const c = start(process.execPath, [PEER, 'seed', torrentFile, dir])
  const line = await new Promise<string>((resolve, reject) => {
    c.stdout?.once('data', (d: Buffer) => resolve(d.toString()))
    c.once('exit', (code) => reject(new Error(`our seeder exited with ${code}`)))
  })
  const { port } = JSON.parse(line) as { port: number }
  return {
    port,
    stop: async () => {
      if (c.exitCode !== null) return
      c.kill('SIGTERM')
      await once(c, 'exit')
    },
  }
}

/** Our leecher; `checkout` runs another checkout's peer.ts (an A/B against another commit). */
export async function oursLeech(
  torrentFile: string,
  dir: string,
  profileDir?: string,
  checkout?: string,
): Promise<LeechResult> {
  const t0 = performance.now()
  const prof = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []
  const peer = checkout ? join(checkout, 'bench/throughput/peer.ts') : PEER
  const { out, cpuS } = await timed(process.execPath, [...prof, peer, 'leech', torrentFile, dir], 'our leecher')
  const ms = performance.now() - t0
  const r = JSON.parse(out.trim().split('\n').pop() as string) as { ms: number; peakRssMb: number; failed: number }
  return { ms, innerMs: r.ms, peakRssMb: r.peakRssMb, failed: r.failed, cpuS }
}

const ARIA2_COMMON = [
  '--enable-dht=false',
  '--enable-dht6=false',
  '--bt-enable-lpd=false',
  '--enable-peer-exchange=false',
  '--bt-require-crypto=false',
  '--summary-interval=0',
  '--console-log-level=error',
  '--quiet=true',
  '--file-allocation=none',
  '--max-overall-download-limit=0',
  '--max-overall-upload-limit=0',
  '--bt-max-peers=0',
]

export async function aria2Leech(torrentFile: string, dir: string): Promise<LeechResult> {
  const t0 = performance.now()
  const { cpuS } = await timed(
    'aria2c',
    [...ARIA2_COMMON, '--seed-time=0', `--dir=${dir}`, torrentFile],
    'aria2c (leecher)',
  )
  return { ms: performance.now() - t0, cpuS }
}

/** aria2c seeding DIR's complete file (trusted, not re-hashed, like ours). */
export async function aria2Seed(
  torrentFile: string,
  dir: string,
  port: number,
): Promise<{ stop: () => Promise<void> }> {
  const c = start('aria2c', [
    ...ARIA2_COMMON,
    '--seed-ratio=0.0',
    '--bt-seed-unverified=true',
    '--check-integrity=false',
    ...(port > 0 ? [`--listen-port=${port}`] : []),
    `--dir=${dir}`,
    torrentFile,
  ])
  await new Promise((r) => setTimeout(r, 1500))
  if (c.exitCode !== null) throw new Error(`aria2c (seeder) exited with ${c.exitCode}`)
  return {
    stop: async () => {
      if (c.exitCode !== null) return
      c.kill('SIGTERM')
      await once(c, 'exit')
    },
  }
}
