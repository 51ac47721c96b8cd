// imgswarm itself: `imgswarm install --target-dir` on every node against
// `imgswarm serve` on the server host. A node is done when it prints
// "[seed] installed and verified" (after the whole-archive SHA-256 check);
// it then keeps seeding while a peer still needs pieces, as in production.
import { errors } from '../../common/errors.ts'
import type { Host } from '../../fleetsim/index.ts'
import { percentile } from './bound.ts'
import { type Ctx, freshDirs, type MethodResult, summarize } from './method.ts'
import { launch, type NodeProc, settledAll, stop, sweep } from './procs.ts'
import { events, type Serve, txBytes } from './server.ts'

const DONE = /^\[seed\] /
/** Nodes leave by themselves once no connected peer needs a piece; this long at most after the last is done. */
const LINGER_MS = 60_000
const FAULT_AT = 50

/** Every 4th node (25%, rounded down), spread over the fleet. */
export function victims(n: number): Set<number> {
  const out = new Set<number>()
  for (let i = 3; i < n; i += 4) out.add(i)
  return out
}

function installArgs(ctx: Ctx, s: Serve, host: Host, dir: string): string[] {
  return [
    ...ctx.launcher.pre,
    'install',
    ...['--server', s.url, '--pubkey', s.pubkey, '--target-dir', dir, '--hostname', host.name],
    ...['--seed-time', '600', '--post', 'none', '--cmdline', 'none', '--json', '--quiet'],
  ]
}

/** Polls serve's events; SIGKILLs each victim once it reported download progress of 50% or more. */
async function killer(ctx: Ctx, s: Serve, procs: NodeProc[], chosen: Set<number>, since: string) {
  const names = new Map([...chosen].map((i) => [procs[i]?.host.name as string, procs[i] as NodeProc]))
  while (names.size > 0 && !ctx.signal.aborted) {
    const evs = await events(ctx.fleet.server, s, ctx.image.store).catch(() => [])
    for (const e of evs) {
      const p = names.get(e.node)
      if (!p || (e.receivedAt ?? '') < since || e.step !== 'download' || (e.percent ?? 0) < FAULT_AT) continue
      names.delete(e.node)
      if (p.done !== undefined || p.failed !== undefined) continue
      p.killedAt = performance.now()
      p.child.kill('SIGKILL')
      ctx.log(`  fault: killed ${e.node} (SIGKILL) at ${e.percent?.toFixed(0)}%`)
    }
    if ([...names.values()].every((p) => p.failed !== undefined || p.done !== undefined)) break
    await new Promise((r) => setTimeout(r, 500))
  }
}

export async function ours(ctx: Ctx, s: Serve, fault: boolean): Promise<MethodResult> {
  const dirs = freshDirs(ctx)
  const { server, nodes } = ctx.fleet
  const chosen = fault ? victims(nodes.length) : new Set<number>()
  const tx0 = await txBytes(server)
  const since = new Date().toISOString()
  const t0 = performance.now()
  // When each node got its verified plan and started downloading: what start-up (2 cores shared by all) costs.
  const began: number[] = []
  const onLine = (_p: NodeProc, line: string) => {
    if (line.startsWith('[download] ')) began.push((performance.now() - t0) / 1000)
  }
  const procs = nodes.map((h, i) =>
    launch(h, ctx.launcher.cmd, installArgs(ctx, s, h, dirs[i] as string), ctx.launcher.env, { line: DONE }, onLine),
  )
  const kill = fault ? killer(ctx, s, procs, chosen, since) : Promise.resolve()
  await settledAll(procs, ctx.signal)
  const tx = (await txBytes(server)) - tx0
  await kill
  if (ctx.signal.aborted) throw errors.tool('bench', 'interrupted')

  // Let the nodes finish seeding and print their summaries, then stop what is left.
  const linger = new Promise((r) => setTimeout(r, LINGER_MS).unref())
  await Promise.race([Promise.all(procs.map((p) => p.closed)), linger])
  await Promise.all(procs.map((p) => stop(p.child, 2000)))
  await Promise.all(nodes.map(sweep))

  let peers = 0
  let webseed = 0
  for (const p of procs) {
    if (p.done === undefined) continue
    try {
      const j = JSON.parse(p.stdout) as { image_stats?: { bytesFromPeers?: number; bytesFromWebseed?: number } }
      peers += j.image_stats?.bytesFromPeers ?? 0
      webseed += j.image_stats?.bytesFromWebseed ?? 0
    } catch {}
  }
  const got = peers + webseed
  const notes = [`download began at p50 ${percentile(began, 50).toFixed(1)} s, last ${Math.max(...began).toFixed(1)} s`]
  if (got > 0) {
    notes.push(
      `${((100 * peers) / got).toFixed(0)}% of bytes from peers (the server's seeder included), ${((100 * webseed) / got).toFixed(0)}% from the web seed`,
    )
  }
  return summarize(fault ? 'imgswarm fault' : 'imgswarm', t0, procs, tx, notes.join('; '))
}
