// --exec CMD: run once the content is in place, with the fetched directory
// as the working directory; its exit status becomes fetch's.
import { spawn } from 'node:child_process'
import { constants } from 'node:os'
import { errors } from '../../common/errors.ts'

export interface ExecInit {
  cwd: string
  env: Record<string, string>
  signal?: AbortSignal | undefined
}

/** Runs CMD with /bin/sh -c; resolves with its exit status (128 + signal number when killed). */
export function runExec(cmd: string, init: ExecInit): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', cmd], {
      cwd: init.cwd,
      env: { ...process.env, ...init.env },
      stdio: 'inherit',
    })
    const onAbort = () => child.kill('SIGTERM')
    init.signal?.addEventListener('abort', onAbort, { once: true })
    child.once('error', (e) => {
      init.signal?.removeEventListener('abort', onAbort)
      reject(errors.fetchExec(cmd, e.message))
    })
    child.once('close', (code, sig) => {
      init.signal?.removeEventListener('abort', onAbort)
      if (code !== null) return resolve(code)
      const n = sig === null ? 0 : (constants.signals[sig] ?? 0)
      resolve(128 + n)
    })
  })
}
