// A chroot into the installed tree with the kernel file systems tools need
// (/dev for /dev/null and the disk, /proc, /sys), and a way to run a program
// in it with a clean environment, a time limit and bounded captured output.
// Whatever is mounted under the tree during the session, by us or by the
// programs we ran, is unmounted afterwards, pass or fail.
import { spawn } from 'node:child_process'
import { lstat, readFile, realpath, rmdir, utimes } from 'node:fs/promises'
import { join } from 'node:path'
import { errors } from '../../common/errors.ts'
import { type CommandRunner, createCommandRunner } from '../disks/index.ts'
import { targetDirectory } from './target-fs.ts'

/** The PATH programs in the chroot get: Debian's default for root. */
export const CHROOT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'

export interface ChrootInit {
  runner?: CommandRunner
  signal?: AbortSignal
}

/** Mounts /dev (recursive bind, slave), /proc and /sys under `target`, runs `fn`, then unmounts every new mount under it. */
export async function withChroot<T>(
  target: string,
  fn: (root: string) => Promise<T>,
  init: ChrootInit = {},
): Promise<T> {
  const run = init.runner ?? createCommandRunner()
  const sig = init.signal === undefined ? {} : { signal: init.signal }
  const root = await realpath(target)
  const before = new Set(await mountsUnder(root))
  // Mount points the image lacks are made for the session and removed after it,
  // with the root's times put back: the installed tree stays as the image had it.
  const rootSt = await lstat(root)
  const made: string[] = []
  for (const d of ['dev', 'proc', 'sys']) {
    if ((await lstat(join(root, d)).catch(() => undefined)) === undefined) made.push(join(root, d))
  }
  try {
    const dev = await targetDirectory(root, '/dev')
    await run.run('mount', ['--rbind', '/dev', dev], sig)
    // Slave: unmounting our copy later must not propagate back to the host's /dev.
    await run.run('mount', ['--make-rslave', dev], sig)
    await run.run('mount', ['-t', 'proc', 'proc', await targetDirectory(root, '/proc')], sig)
    await run.run('mount', ['-t', 'sysfs', 'sysfs', await targetDirectory(root, '/sys')], sig)
    return await fn(root)
  } finally {
    await unmountNew(run, root, before)
    if (made.length > 0) {
      for (const d of made) await rmdir(d).catch(() => undefined)
      await utimes(root, rootSt.atime, rootSt.mtime).catch(() => undefined)
    }
  }
}

async function unmountNew(run: CommandRunner, root: string, before: Set<string>): Promise<void> {
  // Deepest first; a busy one (a daemon a script left behind) is detached lazily.
  const fresh = (await mountsUnder(root)).filter((m) => !before.has(m)).sort((a, b) => b.length - a.length)
  let first: unknown
  for (const m of fresh) {
    await run.run('umount', [m]).catch(async (e: unknown) => {
      await run.run('umount', ['-l', m]).catch(() => {
        first ??= e
      })
    })
  }
  if (first !== undefined) throw first
}

/** Mount points at or below `root`, from this process's mountinfo (octal escapes decoded). */
async function mountsUnder(root: string): Promise<string[]> {
  const info = await readFile('/proc/self/mountinfo', 'utf8')
  const out: string[] = []
  for (const line of info.split('\n')) {
    const field = line.split(' ')[4]
    if (field === undefined) continue
    const m = field.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)))
    if (m.startsWith(`${root}/`)) out.push(m)
  }
  return out
}

export interface ChrootExecInit {
  env: Record<string, string>
  timeoutMs: number
  /** Lines of combined stdout and stderr kept for the result. */
  keepLines: number
  onLine?: (line: string) => void
  signal?: AbortSignal
}

export interface ChrootExecResult {
  /** Exit status, or null when killed by a signal. */
  code: number | null
  signal: NodeJS.Signals | null
  timedOut: boolean
  /** The last `keepLines` lines of output. */
  lines: string[]
}

const MAX_LINE = 4096

/** Runs argv[0] (a path inside the tree) in a chroot of `root`; never rejects on the program's own failure. */
export async function chrootExec(root: string, argv: string[], init: ChrootExecInit): Promise<ChrootExecResult> {
  init.signal?.throwIfAborted()
  const lines: string[] = []
  const push = (line: string) => {
    const l = line.length > MAX_LINE ? `${line.slice(0, MAX_LINE)}...` : line
    lines.push(l)
    if (lines.length > init.keepLines) lines.shift()
    init.onLine?.(l)
  }
  return await new Promise((resolve, reject) => {
    // Its own process group, so a timeout kills the program and all it started.
    const child = spawn('chroot', [root, ...argv], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...init.env, PATH: `${CHROOT_PATH}` },
      detached: true,
    })
    let timedOut = false
    const killGroup = () => {
      if (child.pid === undefined) return
      try {
        process.kill(-child.pid, 'SIGKILL')
      } catch {
        // already gone
      }
    }
    const timer = setTimeout(() => {
      timedOut = true
      killGroup()
    }, init.timeoutMs)
    const onAbort = () => killGroup()
    init.signal?.addEventListener('abort', onAbort, { once: true })
    const partial = { out: '', err: '' }
    const feed = (k: 'out' | 'err') => (b: Buffer) => {
      const text = partial[k] + b.toString('utf8')
      const split = text.split('\n')
      partial[k] = split.pop() ?? ''
      if (partial[k].length > MAX_LINE) {
        push(partial[k])
        partial[k] = ''
      }
      for (const l of split) push(l)
    }
    child.stdout.on('data', feed('out'))
    child.stderr.on('data', feed('err'))
    child.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer)
      init.signal?.removeEventListener('abort', onAbort)
      reject(e.code === 'ENOENT' ? errors.tool('chroot', 'not found on PATH', 'coreutils') : e)
    })
    child.on('exit', () => {
      // The program is done; what it left running in its group goes too, or it
      // would hold our pipes (and the tree's mounts) open.
      killGroup()
    })
    child.on('close', (code, sig) => {
      clearTimeout(timer)
      init.signal?.removeEventListener('abort', onAbort)
      for (const k of ['out', 'err'] as const) if (partial[k] !== '') push(partial[k])
      if (init.signal?.aborted) return reject(init.signal.reason)
      resolve({ code, signal: sig, timedOut, lines })
    })
  })
}
