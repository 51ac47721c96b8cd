// Runs a program to completion with bounded output capture and an AbortSignal.
import { spawn } from 'node:child_process'

export interface RunResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

export interface RunOpts {
  input?: string
  signal?: AbortSignal
  env?: NodeJS.ProcessEnv
  /** Called with each chunk of stdout (progress parsing); stdout is still collected. */
  onStdout?: (chunk: string) => void
  maxOutput?: number
}

/** Rejects with the spawn error (ENOENT when the program is missing); resolves with the exit otherwise. */
export function runTool(cmd: string, args: string[], opts: RunOpts = {}): Promise<RunResult> {
  const max = opts.maxOutput ?? 4 * 1024 * 1024
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      env: opts.env ?? process.env,
    })
    let stdout = ''
    let stderr = ''
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      opts.onStdout?.(d)
      if (stdout.length < max) stdout += d
    })
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      if (stderr.length < 65536) stderr += d
    })
    const onAbort = () => child.kill('SIGTERM')
    opts.signal?.addEventListener('abort', onAbort, { once: true })
    if (opts.signal?.aborted) onAbort()
    child.on('error', (e) => {
      opts.signal?.removeEventListener('abort', onAbort)
      reject(e)
    })
    child.on('close', (code, signal) => {
      opts.signal?.removeEventListener('abort', onAbort)
      resolve({ code, signal, stdout, stderr })
    })
    if (opts.input !== undefined && child.stdin) {
      child.stdin.on('error', () => undefined)
      child.stdin.end(opts.input)
    }
  })
}

/** The first lines of a tool's stderr, for an error message. */
export function firstLines(text: string, n = 4): string {
  return (
    text
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l.length > 0)
      .slice(0, n)
      .join('; ') || '(no message)'
  )
}
