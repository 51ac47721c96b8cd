// Processes on the fleet's hosts: one per node per method, with the moment it
// counted as done (a line on stderr, a marker file, or a clean exit), and the
// sweep that leaves nothing running in a namespace between methods.
import type { ChildProcess } from 'node:child_process'
import { spawn } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import type { Host } from '../../fleetsim/index.ts'

export type DoneWhen = { line: RegExp } | { marker: string } | 'exit'

export interface NodeProc {
  host: Host
  child: ChildProcess
  /** performance.now() at spawn and when it counted as done. */
  start: number
  done: number | undefined
  /** Why it did not finish (exit status, signal, its last stderr). */
  failed: string | undefined
  /** CPU seconds (user + system, with waited-for children) it had used when done; undefined once it exited. */
  cpu: number | undefined
  /** Set when the benchmark killed it on purpose (fault run). */
  killedAt: number | undefined
  stdout: string
  /** Resolves when done or failed. */
  settled: Promise<void>
  /** Resolves when the process has exited. */
  closed: Promise<void>
}

const TAIL = 4000

export function launch(
  host: Host,
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  when: DoneWhen,
  onLine?: (p: NodeProc, line: string) => void,
): NodeProc {
  const child = host.spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] })
  let settle: () => void = () => {}
  let close: () => void = () => {}
  const p: NodeProc = {
    host,
    child,
    start: performance.now(),
    done: undefined,
    failed: undefined,
    killedAt: undefined,
    cpu: undefined,
    stdout: '',
    settled: new Promise<void>((r) => {
      settle = r
    }),
    closed: new Promise<void>((r) => {
      close = r
    }),
  }
  let tail = ''
  let partial = ''
  const finish = (failed?: string) => {
    if (p.done !== undefined || p.failed !== undefined) return
    if (failed === undefined) {
      p.done = performance.now()
      p.cpu = cpuSeconds(child.pid)
    } else p.failed = failed
    settle()
  }
  let timer: NodeJS.Timeout | undefined
  if (typeof when === 'object' && 'marker' in when) {
    timer = setInterval(() => {
      if (!existsSync(when.marker)) return
      const status = readFileSync(when.marker, 'utf8').trim()
      if (status === '') return
      finish(status === '0' ? undefined : `extraction failed (status ${status})`)
    }, 200)
  }
  child.stdout?.on('data', (b: Buffer) => {
    p.stdout += b.toString()
  })
  child.stderr?.on('data', (b: Buffer) => {
    const s = b.toString()
    tail = (tail + s).slice(-TAIL)
    const lines = (partial + s).split('\n')
    partial = lines.pop() ?? ''
    for (const line of lines) {
      onLine?.(p, line)
      if (typeof when === 'object' && 'line' in when && when.line.test(line)) finish()
    }
  })
  child.on('error', (e) => finish(e.message))
  child.on('close', (code, signal) => {
    if (timer) clearInterval(timer)
    if (code === 0 && when === 'exit') finish()
    else finish(`${signal ?? `exit ${code}`} before done: ${tail.trim().split('\n').slice(-5).join(' | ')}`)
    close()
  })
  return p
}

/** From /proc/PID/stat: utime + stime + cutime + cstime, in clock ticks of 1/100 s (Linux's USER_HZ). */
function cpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return [11, 12, 13, 14].reduce((sum, i) => sum + Number(f[i]), 0) / 100
  } catch {
    return undefined
  }
}

/** Waits until every process is done or failed, or the signal aborts. */
export async function settledAll(procs: NodeProc[], signal: AbortSignal): Promise<void> {
  const aborted = new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }))
  await Promise.race([Promise.all(procs.map((p) => p.settled)), aborted])
}

/** SIGKILLs every process left in the host's network namespace (all of them ours: the fleet is ours). */
export async function sweep(host: Host): Promise<void> {
  const pids = await new Promise<string>((resolve) => {
    const c = spawn('ip', ['netns', 'pids', host.netns], { stdio: ['ignore', 'pipe', 'ignore'] })
    let out = ''
    c.stdout.on('data', (b: Buffer) => {
      out += b.toString()
    })
    c.on('close', () => resolve(out))
    c.on('error', () => resolve(''))
  })
  for (const pid of pids.split(/\s+/).filter(Boolean)) {
    try {
      process.kill(Number(pid), 'SIGKILL')
    } catch {}
  }
}

/** SIGTERM, then SIGKILL after graceMs; resolves when it has exited. */
export async function stop(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const closed = new Promise<void>((r) => child.once('close', () => r()))
  child.kill('SIGTERM')
  const t = setTimeout(() => child.kill('SIGKILL'), graceMs)
  await closed
  clearTimeout(t)
}
