// Runs the real CLI launcher (bin/imgswarm) as a person would.
import { spawnSync } from 'node:child_process'
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
