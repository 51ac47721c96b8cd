// The two servers the load drives, each in its own process so the load and
// the server never share an event loop: a real `imgswarm serve` over the
// fixture's store, and the baseline (baseline.ts), a bare fastify answering
// the same three routes with fixed bodies. Both stop on SIGTERM.
import { type ChildProcess, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { freeLocalPort } from '../../common/net.ts'

const BIN = fileURLToPath(new URL('../../bin/imgswarm', import.meta.url))
const BASELINE = fileURLToPath(new URL('./baseline.ts', import.meta.url))
const ENV = { ...process.env, IMGSWARM_FROM_SOURCE: '1', IMGSWARM_CONFIG: 'none' }

export interface Child {
  url: string
  pid: number
  /** stderr and stdout so far (the last 64 KiB), for failure messages. */
  output(): string
  /** Resident set size from /proc/PID/status (VmRSS), in bytes; 0 once the process is gone. */
  rss(): number
  /** CPU seconds (user + system) the process has used; 0 once it is gone. */
  cpuSeconds(): number
  /** Process exit status, or undefined while it runs. */
  exited(): number | string | undefined
  /** SIGTERM, then SIGKILL after 15 s; resolves with the exit code (or signal). */
  stop(): Promise<number | string>
}

export function rssOf(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m ? Number(m[1]) * 1024 : 0
  } catch {
    return 0
  }
}

/** USER_HZ, the unit of /proc/PID/stat times, is 100 on every Linux architecture we run on. */
export function cpuOf(pid: number): number {
  try {
    // Fields after the parenthesised command name: utime and stime are the 12th and 13th.
    const rest = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ').pop()?.split(' ') ?? []
    return (Number(rest[11]) + Number(rest[12])) / 100
  } catch {
    return 0
  }
}

/**
 * Time the process's main thread (the event loop) spent on a CPU and waiting
 * for one, in seconds, from /proc/PID/schedstat: the rest of the wall time it
 * slept (idle, or blocked in a system call such as fsync).
 */
export function schedOf(pid: number): { run: number; wait: number } {
  try {
    const [run, wait] = readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ').map(Number)
    return { run: (run ?? 0) / 1e9, wait: (wait ?? 0) / 1e9 }
  } catch {
    return { run: 0, wait: 0 }
  }
}

function wrap(child: ChildProcess, url: string): Child {
  let out = ''
  const keep = (d: Buffer) => {
    out = (out + d.toString()).slice(-65536)
  }
  child.stdout?.on('data', keep)
  child.stderr?.on('data', keep)
  let status: number | string | undefined
  const exit = new Promise<number | string>((resolve) =>
    child.once('exit', (code, sig) => {
      status = code ?? sig ?? 'unknown'
      resolve(status)
    }),
  )
  return {
    url,
    pid: child.pid as number,
    output: () => out,
    rss: () => rssOf(child.pid as number),
    cpuSeconds: () => cpuOf(child.pid as number),
    exited: () => status,
    async stop() {
      if (status !== undefined) return status
      child.kill('SIGTERM')
      const t = setTimeout(() => child.kill('SIGKILL'), 15_000)
      const s = await exit
      clearTimeout(t)
      return s
    },
  }
}

async function ready(c: Child, path: string, ms = 60_000): Promise<void> {
  const end = Date.now() + ms
  while (Date.now() < end) {
    if (c.exited() !== undefined) throw new Error(`server exited (${c.exited()}) before it was ready:\n${c.output()}`)
    const ok = await fetch(`${c.url}${path}`).then(
      (r) => r.ok,
      () => false,
    )
    if (ok) return
    await new Promise((r) => setTimeout(r, 200))
  }
  await c.stop()
  throw new Error(`server not ready within ${ms / 1000} s:\n${c.output()}`)
}

/** `imgswarm serve` on 127.0.0.1 (loopback: exempt from any per-source limit on the node routes). */
export async function startServe(store: string, logLevel = 'warn'): Promise<Child> {
  const port = await freeLocalPort()
  const args = ['serve', '--store', store, '--host', '127.0.0.1', '--port', String(port)]
  args.push('--public-url', `http://127.0.0.1:${port}`, '--torrent-port', '0', '--no-udp', '--log-level', logLevel)
  const child = spawn(BIN, args, { env: ENV, stdio: ['ignore', 'pipe', 'pipe'] })
  const c = wrap(child, `http://127.0.0.1:${port}`)
  await ready(c, '/api/v1/health/ready')
  return c
}

/** The baseline server answering with the bodies serve gave for one node (see baseline.ts). */
export async function startBaseline(answers: string): Promise<Child> {
  const port = await freeLocalPort()
  const child = spawn(process.execPath, [BASELINE, String(port), answers], {
    env: ENV,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const c = wrap(child, `http://127.0.0.1:${port}`)
  await ready(c, '/health')
  return c
}
