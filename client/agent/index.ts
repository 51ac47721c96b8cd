// `imgswarm agent`: the small service on installed nodes (docs/agent.md). It
// polls the server for this node's jobs with signed requests, runs them one
// at a time in id order, and reports each outcome. `once` runs one poll.
import { spawn } from 'node:child_process'
import { errors, isImgswarmError } from '../../common/errors.ts'
import { type AgentConfig, loadAgentConfig } from './config.ts'
import { signedCall } from './http.ts'
import { type Job, type JobContext, runPushOverrides, runUpdate } from './jobs.ts'

export { AGENT_FILE, EXCLUDE_FILE, KEY_FILE, loadAgentConfig } from './config.ts'
export { type EnrolInit, type EnrolResult, enrolNode } from './enrol.ts'
export { BUILTIN_EXCLUDES, compileExcludes, parseExcludeFile } from './exclude.ts'

export interface AgentInit {
  /** The system the agent acts on: / on a node; a mount point for tests and rescue (--root). */
  root: string
  /** One poll, its jobs, then return. */
  once?: boolean
  /** Between polls, ms (default 30 s). */
  intervalMs?: number
  seedMs?: number
  port?: number
  signal?: AbortSignal
  out?: (line: string) => void
  /** What a reboot does (default: systemctl reboot when root is /; a message otherwise). */
  reboot?: () => Promise<void>
}

export interface PollResult {
  jobs: { id: number; kind: string; status: 'done' | 'failed'; code?: string; result?: Record<string, unknown> }[]
}

async function runJob(c: JobContext, job: Job): Promise<Record<string, unknown>> {
  if (job.kind === 'update') return runUpdate(c, job)
  if (job.kind === 'push-overrides') return runPushOverrides(c, job)
  throw errors.notSupported(`agent job kind ${JSON.stringify(job.kind)} in this imgswarm version`)
}

function defaultReboot(root: string, say: (l: string) => void): () => Promise<void> {
  return async () => {
    if (root !== '/') {
      say(`--root ${root}: not rebooting this machine (the update asked for a reboot)`)
      return
    }
    say('rebooting (systemctl reboot)')
    spawn('systemctl', ['reboot'], { stdio: 'ignore', detached: true }).unref()
  }
}

/** One poll: fetch the node's pending jobs, run each, report each. */
export async function pollOnce(cfg: AgentConfig, o: AgentInit): Promise<PollResult> {
  const say = o.out ?? ((l: string) => process.stderr.write(`${l}\n`))
  const { jobs } = await signedCall<{ jobs: Job[] }>(cfg, 'GET', '/api/v1/agent/jobs', undefined, o.signal)
  const out: PollResult['jobs'] = []
  let reboot = false
  for (const job of jobs) {
    say(`job ${job.id}: ${job.kind}`)
    const c: JobContext = {
      cfg,
      say: (l) => say(`  ${l}`),
      warn: (l) => say(`  warning: ${l}`),
      signal: o.signal,
      seedMs: o.seedMs ?? 60_000,
      port: o.port,
    }
    let body: { status: 'done' | 'failed'; message?: string; code?: string; result?: Record<string, unknown> }
    try {
      const result = await runJob(c, job)
      body = { status: 'done', result }
      if (job.kind === 'update' && job.params.reboot === true) reboot = true
    } catch (e) {
      const code = isImgswarmError(e) ? e.code : 'IMGSWARM_ERR_INTERNAL'
      const message = (e instanceof Error ? e.message : String(e)).slice(0, 4000)
      say(`  job ${job.id} failed: ${code}: ${message}`)
      body = { status: 'failed', code, message }
    }
    await signedCall(cfg, 'POST', `/api/v1/agent/jobs/${job.id}`, body, o.signal)
    out.push({
      id: job.id,
      kind: job.kind,
      status: body.status,
      ...(body.code ? { code: body.code } : {}),
      ...(body.result ? { result: body.result } : {}),
    })
  }
  if (reboot) await (o.reboot ?? defaultReboot(o.root, say))()
  return { jobs: out }
}

/** Runs until the signal fires (or one poll with `once`). Errors between polls are printed and retried. */
export async function runAgent(o: AgentInit): Promise<PollResult> {
  const say = o.out ?? ((l: string) => process.stderr.write(`${l}\n`))
  const cfg = await loadAgentConfig(o.root)
  say(`imgswarm agent: node ${cfg.file.node}, image ${cfg.file.image}, server ${cfg.file.server}, key ${cfg.key.keyId}`)
  if (o.once) return pollOnce(cfg, o)
  const all: PollResult = { jobs: [] }
  const every = o.intervalMs ?? 30_000
  while (!o.signal?.aborted) {
    try {
      all.jobs.push(...(await pollOnce(cfg, o)).jobs)
    } catch (e) {
      if (o.signal?.aborted) break
      say(
        `poll failed: ${isImgswarmError(e) ? `${e.code}: ` : ''}${(e as Error).message}; next try in ${every / 1000} s`,
      )
    }
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, every)
      o.signal?.addEventListener(
        'abort',
        () => {
          clearTimeout(t)
          resolve()
        },
        { once: true },
      )
    })
  }
  return all
}
