// Runs a power tool (ipmitool, ssh, amttool) with an argument list (never a
// shell), a time limit and an optional environment, and says what it printed.
import { spawn } from 'node:child_process'
import { errors } from '../../common/errors.ts'

export interface ToolRun {
  tool: string
  args: string[]
  /** Added to the environment (passwords go here or in files, never in args). */
  env?: Record<string, string>
  stdin?: string
  timeoutMs: number
  signal?: AbortSignal | undefined
  /** For messages: the driver and the host. */
  driver: string
  host: string
}

export interface ToolResult {
  stdout: string
  stderr: string
}

const MAX_OUTPUT = 64 * 1024

export function runTool(r: ToolRun): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(r.tool, r.args, {
      env: { ...process.env, ...(r.env ?? {}) },
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: r.timeoutMs,
      killSignal: 'SIGKILL',
      ...(r.signal ? { signal: r.signal } : {}),
    })
    let out = ''
    let err = ''
    child.stdout.on('data', (d: Buffer) => {
      if (out.length < MAX_OUTPUT) out += d.toString('utf8')
    })
    child.stderr.on('data', (d: Buffer) => {
      if (err.length < MAX_OUTPUT) err += d.toString('utf8')
    })
    child.stdin.on('error', () => {})
    child.stdin.end(r.stdin ?? '')
    child.on('error', (e: NodeJS.ErrnoException) => {
      const detail = e.code === 'ENOENT' ? `${r.tool} is not installed (not found on PATH)` : e.message
      reject(errors.power(r.driver, r.host, detail))
    })
    child.on('close', (code, sig) => {
      if (code === 0) return resolve({ stdout: out, stderr: err })
      const why = sig ? `killed by ${sig}${sig === 'SIGKILL' ? ` (timeout ${r.timeoutMs} ms?)` : ''}` : `exit ${code}`
      const last = (err.trim() || out.trim()).split('\n').slice(-2).join(' ').slice(0, 300)
      reject(errors.power(r.driver, r.host, `${r.tool} ${r.args[0] ?? ''}… failed (${why})${last ? `: ${last}` : ''}`))
    })
  })
}
