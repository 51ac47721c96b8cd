// Runs the disk tools (sfdisk, mkfs.*, ...). Always an argument array, never a
// shell: labels and options come from a layout file and must stay data.
import { spawn } from 'node:child_process'
import { errors } from '../../common/errors.ts'

export interface RunOptions {
  /** Written to the tool's stdin, then stdin is closed. */
  input?: string
  signal?: AbortSignal
}

export interface RunResult {
  stdout: string
  stderr: string
}

/** Rejects with IMGSWARM_ERR_TOOL (naming the tool, its exit status and stderr) when the tool fails or is missing. */
export interface CommandRunner {
  run(tool: string, args: string[], opts?: RunOptions): Promise<RunResult>
}

/** The Debian package that provides each tool, for the "install it" hint. */
export const TOOL_PACKAGES: Record<string, string> = {
  sfdisk: 'fdisk',
  wipefs: 'util-linux',
  partx: 'util-linux',
  blockdev: 'util-linux',
  findmnt: 'util-linux',
  lsblk: 'util-linux',
  blkid: 'util-linux',
  mkswap: 'util-linux',
  mount: 'mount',
  umount: 'mount',
  'mkfs.ext4': 'e2fsprogs',
  'mkfs.xfs': 'xfsprogs',
  'mkfs.vfat': 'dosfstools',
}

const MAX_OUTPUT = 1024 * 1024

export interface CommandRunnerInit {
  /** Search path for the tools; default $PATH plus /usr/sbin:/sbin. */
  path?: string
}

/** The real tools. */
export function createCommandRunner(init: CommandRunnerInit = {}): CommandRunner {
  return { run: (tool, args, opts) => runTool(init.path, tool, args, opts) }
}

async function runTool(
  searchPath: string | undefined,
  tool: string,
  args: string[],
  opts: RunOptions = {},
): Promise<RunResult> {
  opts.signal?.throwIfAborted()
  // C locale so messages we match (and show) are stable; sbin added because
  // a test or a login shell may not have it, and every disk tool lives there.
  // POSIXLY_CORRECT is dropped so getopt keeps permuting: apply places the
  // device before user mkfs options and relies on it staying first positional.
  const { POSIXLY_CORRECT: _, ...env } = process.env
  const path = searchPath ?? `${env.PATH ?? '/usr/bin:/bin'}:/usr/sbin:/sbin`
  return await new Promise((resolve, reject) => {
    const child = spawn(tool, args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...env, PATH: path, LC_ALL: 'C' },
      ...(opts.signal === undefined ? {} : { signal: opts.signal }),
    })
    const out: Buffer[] = []
    const err: Buffer[] = []
    let size = 0
    const keep = (into: Buffer[]) => (b: Buffer) => {
      size += b.length
      if (size <= MAX_OUTPUT) into.push(b)
    }
    child.stdout.on('data', keep(out))
    child.stderr.on('data', keep(err))
    child.stdin.on('error', () => {}) // a tool that exits early closes its stdin: the exit code tells the story
    child.stdin.end(opts.input ?? '')
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (e.name === 'AbortError') reject(opts.signal?.reason ?? e)
      else if (e.code === 'ENOENT') reject(errors.tool(tool, 'not found on PATH', TOOL_PACKAGES[tool]))
      else reject(errors.tool(tool, e.message, TOOL_PACKAGES[tool]))
    })
    child.on('close', (code, sig) => {
      const stdout = Buffer.concat(out).toString('utf8')
      const stderr = Buffer.concat(err).toString('utf8').trim()
      if (code === 0) return resolve({ stdout, stderr })
      if (opts.signal?.aborted) return reject(opts.signal.reason)
      const status = sig === null ? `exit status ${code}` : `killed by ${sig}`
      const detail = `${[tool, ...args].join(' ')}: ${status}${stderr === '' ? '' : `: ${lastLines(stderr)}`}`
      reject(errors.tool(tool, detail))
    })
  })
}

function lastLines(text: string): string {
  return text.split('\n').slice(-5).join(' | ')
}
