// Runs the real CLI launcher (bin/imgswarm) as a person would.
import { spawn, spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

export const BIN = fileURLToPath(new URL('../../bin/imgswarm', import.meta.url))

export interface CliResult {
  status: number
  stdout: string
  stderr: string
}

export function cli(args: string[], env: NodeJS.ProcessEnv = {}): CliResult {
  const r = spawnSync(BIN, args, {
    encoding: 'utf8',
    // Run from source so a stale dist/ bundle cannot hide a change.
    env: { ...process.env, IMGSWARM_FROM_SOURCE: '1', IMGSWARM_CONFIG: 'none', ...env },
    timeout: 120_000,
  })
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr }
}

export function cliJson<T>(args: string[], env: NodeJS.ProcessEnv = {}): T {
  const r = cli([...args, '--json'], env)
  if (r.status !== 0) throw new Error(`imgswarm ${args.join(' ')} exited ${r.status}: ${r.stderr}`)
  return JSON.parse(r.stdout) as T
}

/**
 * The real launcher without blocking this process: when the server under test
 * runs in it, or is its child with piped logs (spawnSync would stop draining
 * them, and a full pipe stops the server while the command waits for it).
 * `input`, when given, is written to its standard input, then closed.
 */
export function cliAsync(
  args: string[],
  env: NodeJS.ProcessEnv = {},
  opts: { timeoutMs?: number; input?: string } = {},
): Promise<CliResult> {
  const { timeoutMs = 120_000, input } = opts
  return new Promise((resolve, reject) => {
    const base = { ...process.env }
    delete base.IMGSWARM_SERVER_URL
    delete base.IMGSWARM_TOKEN
    const child = spawn(BIN, args, {
      env: { ...base, IMGSWARM_FROM_SOURCE: '1', IMGSWARM_CONFIG: 'none', ...env },
      stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    })
    // A command that exits without reading its input must not make this process fail (EPIPE).
    child.stdin?.on('error', () => undefined)
    if (input !== undefined) child.stdin?.end(input)
    let stdout = ''
    let stderr = ''
    child.stdout?.on('data', (d) => {
      stdout += String(d)
    })
    child.stderr?.on('data', (d) => {
      stderr += String(d)
    })
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.once('error', reject)
    child.once('close', (code) => {
      clearTimeout(timer)
      resolve({ status: code ?? -1, stdout, stderr })
    })
  })
}
