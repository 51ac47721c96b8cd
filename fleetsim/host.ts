// One host of the fleet: processes started inside its namespace through
// `ip netns exec`, which execs the command itself (the child's pid is the
// command's pid). The environment given is laid over process.env, so a
// caller can pass only the variables it adds.
import { type ChildProcess, type StdioOptions, spawn } from 'node:child_process'
import { errors } from '../common/errors.ts'
import { run, toolPath } from './commands.ts'
import type { HostPlan } from './names.ts'

export interface Host {
  name: string
  netns: string
  ip: string
  spawn(cmd: string, args: string[], opts?: { env?: NodeJS.ProcessEnv; stdio?: StdioOptions }): ChildProcess
  exec(
    cmd: string,
    args: string[],
    opts?: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number },
  ): Promise<{ code: number | null; stdout: string; stderr: string }>
}

export function makeHost(plan: HostPlan, children: Set<ChildProcess>, isDestroyed: () => boolean): Host {
  const inNs = (cmd: string, args: string[]) => ['netns', 'exec', plan.netns, cmd, ...args]
  const guard = () => {
    if (isDestroyed()) throw errors.usage(`fleet host ${plan.name}: the fleet has been destroyed`)
  }
  return {
    name: plan.name,
    netns: plan.netns,
    ip: plan.ip,
    spawn(cmd, args, opts = {}) {
      guard()
      const child = spawn(toolPath('ip'), inNs(cmd, args), {
        env: { ...process.env, ...opts.env },
        stdio: opts.stdio ?? 'pipe',
      })
      children.add(child)
      child.once('exit', () => children.delete(child))
      // A spawn failure (no `ip`) is reported through 'error'; keep it from crashing the process
      // when the caller did not listen.
      child.once('error', () => children.delete(child))
      return child
    },
    async exec(cmd, args, opts = {}) {
      guard()
      const o: { env: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {
        env: { ...process.env, ...opts.env },
      }
      if (opts.input !== undefined) o.input = opts.input
      if (opts.timeoutMs !== undefined) o.timeoutMs = opts.timeoutMs
      return run(toolPath('ip'), inNs(cmd, args), o)
    },
  }
}
