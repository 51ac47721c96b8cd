// Runs `imgswarm fetch` as a real process (the CLI from source) and reads
// its JSON lines as they come.
import { type ChildProcess, spawn } from 'node:child_process'
import { BIN } from '../support/cli.ts'

export interface FetchLine {
  event: 'status' | 'warning' | 'progress' | 'result'
  message?: string
  [k: string]: unknown
}

export interface FetchRun {
  child: ChildProcess
  lines: FetchLine[]
  /** Resolves with the first line matching, rejects if the process ends first. */
  waitFor(pred: (l: FetchLine) => boolean): Promise<FetchLine>
  done: Promise<{ status: number; stdout: string; stderr: string; result: FetchLine | undefined }>
  kill(): void
}

export function startFetch(args: string[], env: NodeJS.ProcessEnv = {}): FetchRun {
  const child = spawn(BIN, ['fetch', ...args, '--json'], {
    env: { ...process.env, IMGSWARM_FROM_SOURCE: '1', IMGSWARM_CONFIG: 'none', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const lines: FetchLine[] = []
  const waiters: { pred: (l: FetchLine) => boolean; ok: (l: FetchLine) => void; fail: (e: Error) => void }[] = []
  let stdout = ''
  let stderr = ''
  let partial = ''
  child.stdout?.on('data', (c: Buffer) => {
    stdout += c.toString()
    partial += c.toString()
    const parts = partial.split('\n')
    partial = parts.pop() ?? ''
    for (const p of parts) {
      if (!p.startsWith('{')) continue
      let l: FetchLine
      try {
        l = JSON.parse(p) as FetchLine
      } catch {
        continue
      }
      lines.push(l)
      for (const w of [...waiters]) {
        if (w.pred(l)) {
          waiters.splice(waiters.indexOf(w), 1)
          w.ok(l)
        }
      }
    }
  })
  child.stderr?.on('data', (c: Buffer) => {
    stderr += c.toString()
  })
  const done = new Promise<{ status: number; stdout: string; stderr: string; result: FetchLine | undefined }>(
    (resolve) => {
      child.once('close', (code, sig) => {
        for (const w of waiters.splice(0)) w.fail(new Error(`fetch ended (${code ?? sig}) first: ${stderr}`))
        resolve({
          status: code ?? 128,
          stdout,
          stderr,
          result: lines.find((l) => l.event === 'result'),
        })
      })
    },
  )
  return {
    child,
    lines,
    done,
    waitFor(pred) {
      const hit = lines.find(pred)
      if (hit) return Promise.resolve(hit)
      if (child.exitCode !== null || child.signalCode !== null) return Promise.reject(new Error('fetch ended'))
      return new Promise((ok, fail) => waiters.push({ pred, ok, fail }))
    },
    kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    },
  }
}
