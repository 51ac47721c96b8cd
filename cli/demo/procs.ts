// The demo's child processes: `imgswarm serve` on the server host and
// `imgswarm install` on each node, both this same CLI started again.
import type { ChildProcess } from 'node:child_process'
import { errors } from '../../common/errors.ts'
import { type DemoHost, exited } from './topology.ts'

/** How to start this CLI again (works from source and from the bundle). */
export function selfCommand(): { cmd: string; args: string[] } {
  return { cmd: process.execPath, args: [...process.execArgv, process.argv[1] as string] }
}

/** Every line a stream gives, and the last `keep` of them. */
function lines(stream: NodeJS.ReadableStream | null, keep: number, each: (l: string) => void): string[] {
  const tail: string[] = []
  let part = ''
  stream?.setEncoding('utf8')
  stream?.on('data', (c: string) => {
    part += c
    const ls = part.split('\n')
    part = ls.pop() ?? ''
    for (const l of ls) {
      tail.push(l)
      if (tail.length > keep) tail.shift()
      each(l)
    }
  })
  return tail
}

export interface ServeProc {
  child: ChildProcess
  /** The last lines of its log. */
  tail: string[]
  /** Rejects when the server exits (before stop() was called). */
  died: Promise<never>
  stop(): Promise<void>
}

export interface ServeInit {
  host: DemoHost
  store: string
  configFile: string
  port: number
  listen: string
  publicUrl: string
  env: NodeJS.ProcessEnv
}

export function startServe(o: ServeInit): ServeProc {
  const self = selfCommand()
  const args = [
    ...self.args,
    'serve',
    ...['--store', o.store, '--config', o.configFile],
    ...['--host', o.listen, '--port', String(o.port), '--public-url', o.publicUrl],
    ...['--torrent-port', o.listen === '127.0.0.1' ? '0' : '8472', '--log-level', 'warn'],
  ]
  // Quiet log: the caller learns readiness from GET /api/v1/health/ready.
  const child = o.host.spawn(self.cmd, args, { ...o.env, IMGSWARM_LOG_LEVEL: 'warn' })
  const tail = lines(child.stderr, 40, () => undefined)
  lines(child.stdout, 40, (l) => tail.push(l))
  let stopping = false
  const stop = async () => {
    stopping = true
    if (child.exitCode !== null || child.signalCode !== null) return
    child.kill('SIGTERM')
    await exited(child, 10_000)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  }
  const died = new Promise<never>((_, reject) =>
    child.once('exit', (code, sig) => {
      if (!stopping) reject(errors.tool('imgswarm serve', `exited (${sig ?? code}):\n${tail.join('\n')}`))
    }),
  )
  died.catch(() => undefined)
  return { child, tail, died, stop }
}

export interface InstallRun {
  name: string
  child: ChildProcess
  tail: string[]
  result: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string }>
}

export interface InstallInit {
  host: DemoHost
  server: string
  pubkey: string
  /** --target-dir DIR, or --disk DEV with --mount-dir DIR. */
  dest: { targetDir: string } | { disk: string; mountDir: string }
  seedTime: number
  env: NodeJS.ProcessEnv
  /** Called with the step of each `[step] ...` line the client prints. */
  onStep: (step: string, line: string) => void
}

export function startInstall(o: InstallInit): InstallRun {
  const self = selfCommand()
  const dest =
    'targetDir' in o.dest ? ['--target-dir', o.dest.targetDir] : ['--disk', o.dest.disk, '--mount-dir', o.dest.mountDir]
  const args = [
    ...self.args,
    'install',
    ...['--server', o.server, '--pubkey', o.pubkey, ...dest, '--hostname', o.host.name],
    ...['--cmdline', 'none', '--seed-time', String(o.seedTime), '--json'],
  ]
  const child = o.host.spawn(self.cmd, args, o.env)
  const tail = lines(child.stderr, 60, (l) => {
    const m = /^\[([a-z]+)\] /.exec(l)
    if (m) o.onStep(m[1] as string, l)
  })
  let stdout = ''
  child.stdout?.setEncoding('utf8')
  child.stdout?.on('data', (c: string) => {
    stdout += c
  })
  const result = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string }>((resolve) => {
    child.once('close', (code, signal) => resolve({ code, signal, stdout }))
    child.once('error', () => resolve({ code: null, signal: null, stdout }))
  })
  return { name: o.host.name, child, tail, result }
}
