// The reference BitTorrent swarm: aria2c on every node, seeded by aria2c on
// the server, with the same info dictionary (so the same pieces) announced
// to a standalone `imgswarm tracker` and without the web seed. aria2c cannot
// stream into tar, so a node is done when its download hook has extracted
// the archive; aria2c keeps seeding meanwhile, as our nodes do.
import { chmodSync, linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { basename, join } from 'node:path'
import { bdecode, bencode } from '../../common/bencode.ts'
import { errors } from '../../common/errors.ts'
import { type Ctx, checkExtracted, freshDirs, type MethodResult, summarize } from './method.ts'
import { launch, settledAll, stop, sweep } from './procs.ts'
import { get, startTracker, TRACKER_PORT, txBytes } from './server.ts'

/** No DHT, no local discovery, no PEX (the torrent is private anyway): peers come from the tracker only. */
const COMMON = [
  '--enable-dht=false',
  '--enable-dht6=false',
  '--bt-enable-lpd=false',
  '--enable-peer-exchange=false',
  '--disable-ipv6=true',
  '--file-allocation=none',
  '--seed-ratio=0.0',
  '--console-log-level=warn',
  '--summary-interval=0',
  '--auto-save-interval=0',
]

/** The packed torrent with one tracker and no url-list; the info dictionary is copied byte for byte. */
function aria2Torrent(packed: string, announce: string, out: string): void {
  const buf = readFileSync(packed)
  const span = bdecode(buf).spans.get('info')
  if (!span) throw errors.tool('bench', `${packed}: no info dictionary`)
  const a = Buffer.from('announce')
  const parts = [Buffer.from(`d${a.length}:`), a, bencode(announce), Buffer.from('4:info')]
  writeFileSync(out, Buffer.concat([...parts, buf.subarray(span[0], span[1]), Buffer.from('e')]))
}

/** Called by aria2c as HOOK GID FILES PATH once the download completed, before seeding. */
const HOOK = `#!/bin/sh
d=$(dirname "$3")
tar -x --numeric-owner -f "$3" -C "$d/root"
echo $? > "$d/done.tmp" && mv "$d/done.tmp" "$d/done"
`

async function seederReady(ctx: Ctx): Promise<void> {
  const url = `http://${ctx.fleet.server.ip}:${TRACKER_PORT}/stats`
  const deadline = Date.now() + 120_000
  while (Date.now() < deadline && !ctx.signal.aborted) {
    const body = await get(ctx.fleet.server, url)
    const stats = body === undefined ? undefined : (JSON.parse(body) as { seeders?: number })
    if ((stats?.seeders ?? 0) > 0) return
    await new Promise((r) => setTimeout(r, 500))
  }
  throw errors.tool('aria2c seeder', 'did not announce itself to the tracker within 120 s')
}

export async function aria2(ctx: Ctx): Promise<MethodResult> {
  const { server, nodes } = ctx.fleet
  const dir = join(ctx.work, 'aria2')
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(join(dir, 'seed'), { recursive: true })
  const env = { ...process.env }
  const tracker = await startTracker(server, ctx.launcher, join(ctx.work, 'tracker.log'))
  const seedChild: { stop?: () => Promise<void> } = {}
  try {
    const torrent = join(dir, 'image.torrent')
    aria2Torrent(ctx.image.torrent, tracker.announce, torrent)
    // A hard link: aria2c's control files stay out of the store.
    linkSync(ctx.image.archive, join(dir, 'seed', basename(ctx.image.archive)))
    const hook = join(dir, 'hook.sh')
    writeFileSync(hook, HOOK)
    chmodSync(hook, 0o755)
    const seeder = launch(server, 'aria2c', [...COMMON, '-V', `--dir=${join(dir, 'seed')}`, torrent], env, 'exit')
    seedChild.stop = () => stop(seeder.child, 2000)
    await seederReady(ctx)

    const dirs = freshDirs(ctx, 'root').map((d) => join(d, '..'))
    const tx0 = await txBytes(server)
    const t0 = performance.now()
    const procs = nodes.map((h, i) => {
      const args = [...COMMON, `--dir=${dirs[i]}`, `--on-bt-download-complete=${hook}`, torrent]
      return launch(h, 'aria2c', args, env, { marker: join(dirs[i] as string, 'done') })
    })
    await settledAll(procs, ctx.signal)
    const tx = (await txBytes(server)) - tx0
    await Promise.all(procs.map((p) => stop(p.child, 2000)))
    await Promise.all(nodes.map(sweep))
    if (ctx.signal.aborted) throw errors.tool('bench', 'interrupted')
    checkExtracted(
      ctx,
      procs,
      dirs.map((d) => join(d, 'root')),
    )
    return summarize('aria2c', t0, procs, tx)
  } finally {
    await seedChild.stop?.()
    await tracker.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}
