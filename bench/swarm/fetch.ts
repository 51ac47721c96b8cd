// General content distribution (the "Murder" case): `imgswarm fetch CONTENT
// --to DIR` on every node, the same tree as the image published with
// `imgswarm publish --public`. A node is done when it prints "verified"
// (after the whole-archive SHA-256 check); it then seeds while a peer or the
// tracker says someone still downloads, as `fetch` does by default.
import { errors } from '../../common/errors.ts'
import type { Host } from '../../fleetsim/index.ts'
import { type Ctx, checkExtracted, freshDirs, type MethodResult, summarize } from './method.ts'
import { launch, type NodeProc, settledAll, stop, sweep } from './procs.ts'
import { type Serve, txBytes } from './server.ts'

const DONE = /: verified in /
/** Fetchers leave by themselves once nobody needs them (--seed-quiet); this long at most after the last is done. */
const LINGER_MS = 60_000

function fetchArgs(ctx: Ctx, s: Serve, dir: string): string[] {
  return [
    ...ctx.launcher.pre,
    'fetch',
    ctx.image.content,
    ...['--to', dir, '--server', s.url, '--pubkey-file', s.pubkey],
    ...['--seed-while-needed', '--seed-quiet', '10', '--seed-max', '600'],
  ]
}

export async function fetchAll(ctx: Ctx, s: Serve): Promise<MethodResult> {
  // fetch wants DIR new or empty: give it a subdirectory that does not exist yet.
  const dirs = freshDirs(ctx).map((d) => `${d}/content`)
  const { server, nodes } = ctx.fleet
  const tx0 = await txBytes(server)
  const t0 = performance.now()
  const procs: NodeProc[] = nodes.map((h: Host, i) =>
    launch(h, ctx.launcher.cmd, fetchArgs(ctx, s, dirs[i] as string), ctx.launcher.env, { line: DONE }),
  )
  await settledAll(procs, ctx.signal)
  const tx = (await txBytes(server)) - tx0
  if (ctx.signal.aborted) throw errors.tool('bench', 'interrupted')
  const linger = new Promise((r) => setTimeout(r, LINGER_MS).unref())
  await Promise.race([Promise.all(procs.map((p) => p.closed)), linger])
  await Promise.all(procs.map((p) => stop(p.child, 2000)))
  await Promise.all(nodes.map(sweep))
  checkExtracted(ctx, procs, dirs)
  return summarize('imgswarm fetch', t0, procs, tx, `imgswarm fetch ${ctx.image.content} --seed-while-needed`)
}
