// `imgswarm node update` and `imgswarm node push-overrides`: jobs for node
// agents through the running server (docs/node-update.md). They need the
// server (it builds and seeds the delta), so there is no --direct.
import { Command, Option } from 'commander'
import { loadConfig } from '../../common/config.ts'
import { errors, ImgswarmError } from '../../common/errors.ts'
import { formatBytes } from '../../common/progress.ts'
import { readAdminToken } from '../../seeder/api/auth.ts'
import { printJson, wholeNumber } from '../shared.ts'

interface Opts {
  store?: string
  config?: string
  server?: string
  token?: string
  json?: boolean
  to?: string
  dryRun?: boolean
  reboot?: boolean
  wait?: number
}

interface Line {
  node: string
  from?: string | null
  to?: string
  job?: number
  error?: { code: string; message: string; hint?: string }
  delta?: Record<string, unknown>
}

interface Job {
  id: number
  node: string
  status: string
  result: Record<string, unknown> | null
}

async function client(o: Opts) {
  const config = loadConfig({ config: o.config, store: o.store })
  const url = (o.server ?? (process.env.IMGSWARM_SERVER_URL || undefined) ?? config.serverUrl).replace(/\/+$/, '')
  if (!/^https?:\/\/[^/\s]+/.test(url)) throw errors.usage(`--server ${JSON.stringify(url)}: expected http://HOST:PORT`)
  const token = (
    o.token ??
    (process.env.IMGSWARM_TOKEN || undefined) ??
    (await readAdminToken(config.store).catch(() => undefined))
  )?.trim()
  return async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    let res: Response
    try {
      res = await fetch(`${url}${path}`, {
        method,
        headers: {
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(30 * 60_000),
      })
    } catch (e) {
      const cause = (e as { cause?: { code?: string } }).cause?.code ?? (e as Error).message
      throw errors.fleetServer(url, `cannot reach the server (${cause})`, 'start imgswarm serve, or check --server')
    }
    const json = (await res.json().catch(() => undefined)) as
      | { error?: { code?: string; message?: string; hint?: string } }
      | undefined
    if (!res.ok) {
      const e = json?.error
      if (e?.code && e.message)
        throw new ImgswarmError(e.code, e.message, {
          ...(e.hint ? { hint: e.hint } : {}),
          exitCode: res.status === 400 ? 2 : 1,
        })
      throw errors.fleetServer(url, `HTTP ${res.status}`, 'see the server log')
    }
    return json as T
  }
}

function opts(cmd: Command): Command {
  return cmd
    .argument('<target...>', 'host names, MACs or group names')
    .addOption(new Option('--store <dir>', 'image store root (for the admin token file)'))
    .addOption(new Option('--config <file>', 'config file'))
    .option('--server <url>', 'the image server (env IMGSWARM_SERVER_URL; default server_url)')
    .option('--token <token>', 'the admin token (env IMGSWARM_TOKEN; default STORE/keys/admin.token)')
    .option('--wait <sec>', 'wait up to SEC seconds for the agents to report', wholeNumber('--wait', 1, 86400))
    .option('--json', 'print JSON for scripts')
}

const pct = (a: number, b: unknown) =>
  typeof b === 'number' && b > 0 ? ` (${((a / b) * 100).toFixed(1)}% of the image's ${formatBytes(b)})` : ''

function printLine(l: Line, dry: boolean): void {
  const out = process.stdout
  if (l.error) {
    out.write(`${l.node}: ${l.error.code}: ${l.error.message}\n`)
    return
  }
  const d = l.delta ?? {}
  if (d.overrides) {
    out.write(`${l.node}: job ${l.job} queued: overrides ${(d.overrides as string[]).join(', ') || '(none)'}\n`)
    return
  }
  const counts = `${d.added} added, ${d.changed} changed, ${d.deleted} deleted, ${d.meta} metadata only`
  if (dry) {
    out.write(
      `${l.node}: ${l.from} -> ${l.to}: ${counts}; ${formatBytes(Number(d.bytes))} of file data to move${pct(Number(d.bytes), d.imageSize)}\n`,
    )
    for (const p of (d.paths as string[]) ?? []) out.write(`  + ${p}\n`)
    for (const p of (d.deletedPaths as string[]) ?? []) out.write(`  - ${p}\n`)
    return
  }
  out.write(
    `${l.node}: ${l.from} -> ${l.to}: job ${l.job} queued; delta ${d.ref} ${formatBytes(Number(d.archiveSize))}` +
      `${pct(Number(d.archiveSize), d.imageSize)}; ${counts}\n`,
  )
}

async function waitJobs(call: Awaited<ReturnType<typeof client>>, lines: Line[], sec: number, json: boolean) {
  const ids = lines.flatMap((l) => (l.job === undefined ? [] : [l.job]))
  const deadline = Date.now() + sec * 1000
  const done = new Map<number, Job>()
  while (done.size < ids.length && Date.now() < deadline) {
    for (const id of ids) {
      if (done.has(id)) continue
      const { job } = await call<{ job: Job }>('GET', `/api/v1/agent-jobs/${id}`)
      if (job.status === 'done' || job.status === 'failed') done.set(id, job)
    }
    if (done.size < ids.length) await new Promise((r) => setTimeout(r, 1000))
  }
  for (const id of ids) {
    const j = done.get(id)
    if (!json) {
      const r = j?.result ?? {}
      const moved =
        typeof r.bytesDown === 'number'
          ? `; ${formatBytes(r.bytesDown)} moved (${formatBytes(Number(r.bytesFromPeers ?? 0))} from peers)`
          : ''
      process.stdout.write(
        j
          ? `${j.node}: job ${id} ${j.status}${r.code ? `: ${r.code}: ${r.message}` : moved}\n`
          : `job ${id}: no report within ${sec} s\n`,
      )
    }
  }
  return {
    jobs: ids.map((id) => done.get(id) ?? { id, status: 'waiting' }),
    failed: ids.some((id) => done.get(id)?.status !== 'done'),
  }
}

async function run(o: Opts, path: string, body: Record<string, unknown>, dry: boolean) {
  const call = await client(o)
  const res = await call<{ to?: string; nodes: Line[] }>('POST', path, body)
  if (!o.json) for (const l of res.nodes) printLine(l, dry)
  const waited = o.wait !== undefined && !dry ? await waitJobs(call, res.nodes, o.wait, o.json ?? false) : undefined
  if (o.json) printJson({ ...res, ...(waited ? { jobs: waited.jobs } : {}) })
  if (res.nodes.some((l) => l.error) || waited?.failed) process.exitCode = 1
}

export function nodeUpdateCommand(): Command {
  return opts(new Command('update'))
    .description('bring running nodes to an image version with a delta over the swarm (rollback: the previous version)')
    .requiredOption('--to <ref>', 'NAME@VER (or NAME: its latest version)')
    .option('--dry-run', 'print what would change (counts, bytes, the first paths); queue nothing')
    .option('--reboot', 'reboot each node after its update applied')
    .addHelpText(
      'after',
      `
The server builds (once, then cached) a delta archive between the version each node runs and
--to: changed and added files, a deletion list and metadata changes, packed and signed like an
image, seeded by the server and shared between nodes updating at the same time. Each node's agent
downloads it, verifies it, and applies it in place, leaving /etc/imgswarm/update.exclude and the
node's identity alone. Needs nodes installed (and enrolled) by imgswarm. See docs/node-update.md.

Examples:
  imgswarm node update render --to base@7 --dry-run
  imgswarm node update node001 node002 --to base@7 --wait 600
  imgswarm node update render --to base@6          # roll back
  imgswarm node update render --to base --reboot`,
    )
    .action(async (targets: string[], o: Opts) => {
      await run(
        o,
        '/api/v1/update',
        { nodes: targets, to: o.to, dryRun: o.dryRun ?? false, reboot: o.reboot ?? false },
        o.dryRun ?? false,
      )
    })
}

export function nodePushOverridesCommand(): Command {
  return opts(new Command('push-overrides'))
    .description("re-apply each node's resolved overrides (cluster config) through its agent")
    .addHelpText(
      'after',
      `
Resolves each node's overrides from the cluster config (global < group < host), as its next
install would get them, and asks its agent to download them over the swarm and extract them over
the running system (the same safe extractor as the install). See docs/node-update.md.

Examples:
  imgswarm node push-overrides render
  imgswarm node push-overrides node007 --wait 120`,
    )
    .action(async (targets: string[], o: Opts) => {
      await run(o, '/api/v1/push-overrides', { nodes: targets }, false)
    })
}
