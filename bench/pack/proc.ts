// Running the programs we compare: each under GNU time (for peak RSS and CPU
// time), in its own process group so an interrupted benchmark can stop the
// whole pipeline, not just the shell at its head.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { errors } from '../../common/errors.ts'

export const GNU_TIME = '/usr/bin/time'

/** Debian package of each program the benchmark runs. */
const PACKAGES: Record<string, string> = {
  [GNU_TIME]: 'time',
  tar: 'tar',
  mktorrent: 'mktorrent',
  sha256sum: 'coreutils',
  openssl: 'openssl',
  sync: 'coreutils',
  zstd: 'zstd',
  bash: 'bash',
  getfattr: 'attr',
}

function has(tool: string): boolean {
  return spawnSync('sh', ['-c', 'command -v "$1"', 'sh', tool], { stdio: 'ignore' }).status === 0
}

/** Installs missing tools with apt-get when root; otherwise says what to install. */
export function ensureTools(tools: string[], log: (line: string) => void): void {
  let missing = tools.filter((t) => !has(t))
  if (missing.length === 0) return
  const pkgs = [...new Set(missing.map((t) => PACKAGES[t] ?? t))]
  if (process.getuid?.() !== 0) {
    throw errors.tool(missing.join(', '), 'not installed, and installing needs root', pkgs.join(' '))
  }
  log(`installing ${pkgs.join(' ')} (for ${missing.join(', ')})`)
  const opts = { stdio: 'inherit' as const, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } }
  if (spawnSync('apt-get', ['install', '-y', ...pkgs], opts).status !== 0) {
    spawnSync('apt-get', ['update'], opts)
    spawnSync('apt-get', ['install', '-y', ...pkgs], opts)
  }
  missing = tools.filter((t) => !has(t))
  if (missing.length > 0) throw errors.tool(missing.join(', '), 'still missing after apt-get install', pkgs.join(' '))
}

const running = new Set<ChildProcess>()
const tempDirs = new Set<string>()

/** Stops every process group we started and waits (briefly) for them to go. */
export async function stopAll(): Promise<void> {
  const waits = [...running].map(
    (c) =>
      new Promise<void>((resolve) => {
        c.once('close', () => resolve())
        setTimeout(resolve, 5000).unref()
        try {
          if (c.pid !== undefined) process.kill(-c.pid, 'SIGTERM')
        } catch {
          resolve()
        }
      }),
  )
  await Promise.all(waits)
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true })
}

export interface RunOpts {
  env?: NodeJS.ProcessEnv
  /** Passed through to our terminal instead of captured (long untimed steps). */
  inheritStderr?: boolean
}

const TAIL = 8192

/** Runs a program to completion; stdout is returned, a failure throws with the end of its stderr. */
export function run(cmd: string, args: string[], o: RunOpts = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      detached: true,
      stdio: ['ignore', 'pipe', o.inheritStderr ? 'inherit' : 'pipe'],
      env: o.env ?? process.env,
    })
    running.add(child)
    const out: Buffer[] = []
    let err = ''
    child.stdout?.on('data', (b: Buffer) => out.push(b))
    child.stderr?.on('data', (b: Buffer) => {
      err = (err + b.toString()).slice(-TAIL)
    })
    child.on('error', (e) => {
      running.delete(child)
      reject(errors.tool(cmd, e.message))
    })
    child.on('close', (code, signal) => {
      running.delete(child)
      if (code === 0) resolve(Buffer.concat(out).toString())
      else reject(errors.tool(`${cmd} ${args.join(' ')}`.slice(0, 300), `${signal ?? `exit ${code}`}\n${err.trim()}`))
    })
  })
}

export interface Timed {
  /** Wall seconds, measured here around the child. */
  wall: number
  /** Peak resident set of the biggest process in the group, in KiB (GNU time %M). */
  rssKiB: number
  /** CPU seconds, user and system, of the whole process tree. */
  user: number
  sys: number
  stdout: string
}

/** Runs a program under GNU time. */
export async function timed(cmd: string, args: string[], o: RunOpts = {}): Promise<Timed> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-pack-'))
  const file = join(dir, 'time')
  tempDirs.add(dir)
  try {
    const t0 = process.hrtime.bigint()
    const stdout = await run(GNU_TIME, ['-f', '%M %U %S', '-o', file, cmd, ...args], o)
    const wall = Number(process.hrtime.bigint() - t0) / 1e9
    const last = readFileSync(file, 'utf8').trim().split('\n').pop() ?? ''
    const [rss, user, sys] = last.split(' ').map(Number)
    if (rss === undefined || user === undefined || sys === undefined || Number.isNaN(rss + user + sys)) {
      throw errors.tool(GNU_TIME, `unexpected output ${JSON.stringify(last)}`, 'time')
    }
    return { wall, rssKiB: rss, user, sys, stdout }
  } finally {
    rmSync(dir, { recursive: true, force: true })
    tempDirs.delete(dir)
  }
}
