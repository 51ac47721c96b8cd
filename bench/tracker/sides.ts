// The two trackers the benchmark compares, each started as its own process
// group so a failed or interrupted run can stop everything it started.
import { type ChildProcess, spawn } from 'node:child_process'
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const BIN = join(ROOT, 'bin/imgswarm')
const ENV = { ...process.env, IMGSWARM_FROM_SOURCE: '1', IMGSWARM_CONFIG: 'none' }

export interface Side {
  name: string
  port: number
  pid: number
  stop(): Promise<void>
}

const children = new Set<ChildProcess>()
const dirs = new Set<string>()

export function tempDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix))
  dirs.add(d)
  return d
}

/** Stops every process group we started and removes our temporary directories. */
export async function stopAll(): Promise<void> {
  await Promise.all([...children].map(stopChild))
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
  dirs.clear()
}

function stopChild(c: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (c.exitCode !== null || c.signalCode !== null) {
      children.delete(c)
      return resolve()
    }
    const t = setTimeout(() => {
      try {
        process.kill(-(c.pid as number), 'SIGKILL')
      } catch {}
    }, 5000)
    c.once('exit', () => {
      clearTimeout(t)
      children.delete(c)
      resolve()
    })
    try {
      process.kill(-(c.pid as number), 'SIGTERM')
    } catch {
      resolve()
    }
  })
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number }
      s.close(() => resolve(port))
    })
  })
}

function launch(cmd: string, args: string[]): { child: ChildProcess; output: () => string } {
  const child = spawn(cmd, args, { env: ENV, detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
  children.add(child)
  let out = ''
  child.stdout?.on('data', (d: Buffer) => {
    out += d
  })
  child.stderr?.on('data', (d: Buffer) => {
    out += d
  })
  return { child, output: () => out }
}

async function waitFor(cond: () => boolean, what: string, output: () => string, ms = 30_000): Promise<void> {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) throw new Error(`${what} did not start within ${ms / 1000} s:\n${output()}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** `imgswarm tracker` through the launcher, as an operator runs it. */
export async function startOurs(hashes: string[]): Promise<Side> {
  const dir = tempDir('imgswarm-bench-tracker-')
  const allow = join(dir, 'allow.txt')
  writeFileSync(allow, `${hashes.join('\n')}\n`)
  const args = ['--host', '127.0.0.1', '--port', '0', '--no-udp', '--allow', allow, '--log-level', 'warn']
  const { child, output } = launch(BIN, ['tracker', ...args])
  let port = 0
  await waitFor(
    () => {
      const m = /127\.0\.0\.1:(\d+)\/announce/.exec(output())
      if (m) port = Number(m[1])
      return port > 0
    },
    'imgswarm tracker',
    output,
  )
  return { name: 'imgswarm', port, pid: child.pid as number, stop: () => stopChild(child) }
}

/** Debian's opentracker: whitelist build, so it gets the same list; refuses root without -u. */
export async function startOpentracker(hashes: string[]): Promise<Side> {
  const dir = tempDir('imgswarm-bench-opentracker-')
  chmodSync(dir, 0o755)
  // Hex, one per line; the path is read after the chroot into -d.
  writeFileSync(join(dir, 'whitelist.txt'), `${hashes.join('\n')}\n`, { mode: 0o644 })
  const port = await freePort()
  const args = ['-i', '127.0.0.1', '-p', String(port), '-P', String(port), '-d', dir, '-w', '/whitelist.txt']
  if (process.getuid?.() === 0) args.push('-u', 'nobody')
  const { child, output } = launch('opentracker', args)
  await waitFor(() => listening(port), 'opentracker', output)
  // opentracker loads its whitelist in a thread after it starts listening.
  await new Promise((r) => setTimeout(r, 500))
  return { name: 'opentracker', port, pid: child.pid as number, stop: () => stopChild(child) }
}

function listening(port: number): boolean {
  const hex = port.toString(16).toUpperCase().padStart(4, '0')
  const tcp = readFileSync('/proc/net/tcp', 'utf8')
  return tcp.split('\n').some((l) => l.includes(`:${hex} 00000000:0000 0A`))
}

/** Resident set size of a process, in bytes. */
export function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  if (!m) throw new Error(`no VmRSS for pid ${pid}`)
  return Number(m[1]) * 1024
}
