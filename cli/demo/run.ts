// The demo from start to end: choose the fleet or the loopback fallback,
// build and pack the sample, start serve, reimage every node while showing
// it live, check each node, print the summary, and undo everything.

import { mkdtemp, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { errors } from '../../common/errors.ts'
import { freeLocalPort } from '../../common/net.ts'
import { type ApiAccess, ApiClient, answers, directAccess, relayAccess } from './api.ts'
import { Cleanup, detachSync, removeSync } from './cleanup.ts'
import { attachDisks, type LoopDisks, missingDiskTools, unmountAll, withRootMounted } from './disks.ts'
import { runFleet } from './monitor.ts'
import { startServe } from './procs.ts'
import { prepareStore } from './setup.ts'
import { type DemoSummary, formatSummary, summarize } from './summary.ts'
import { fleetTopology, fleetUnsupported, loopbackTopology, type Topology } from './topology.ts'
import { checkedWhat, checkNode } from './verify.ts'

export interface DemoOptions {
  nodes: number
  /** Mbit/s; undefined: the mode's default. */
  nodeRate: number | undefined
  serverRate: number | undefined
  disks: boolean
  keep: boolean
  /** Sample data in MB; default 64 (fleet) or 24 (loopback). */
  sampleMb: number | undefined
  /** Parent of the work dir; default the system temp dir. */
  workParent: string | undefined
  json: boolean
  seedTime: number
  timeoutSec: number
  signal: AbortSignal
}

export const LOOPBACK_NODES = 4
/** Mbit/s: fleet node links, fleet server uplink, loopback server cap. */
export const DEFAULT_RATES = { node: 100, server: 50, loopbackServer: 16 }

const say = (l: string) => process.stderr.write(`${l}\n`)

async function chooseMode(o: DemoOptions): Promise<{ fleet: boolean; why?: string }> {
  if (process.env.IMGSWARM_DEMO_FORCE_LOOPBACK === '1') return { fleet: false, why: 'IMGSWARM_DEMO_FORCE_LOOPBACK=1' }
  const why = process.getuid?.() === 0 ? await fleetUnsupported() : 'not running as root'
  if (why === undefined) return { fleet: true }
  if (o.disks && process.getuid?.() !== 0) {
    throw errors.usage(`--disks needs root (loop devices, mounts): ${why}`, 'run it as root, or leave out --disks')
  }
  return { fleet: false, why }
}

export async function runDemo(o: DemoOptions): Promise<DemoSummary> {
  const mode = await chooseMode(o)
  const root = process.getuid?.() === 0
  if (o.disks) {
    const missing = await missingDiskTools()
    if (missing.length > 0) {
      throw errors.tool(missing.join(', '), 'needed by --disks', 'util-linux fdisk e2fsprogs grub-pc-bin')
    }
  }
  const nodes = mode.fleet ? o.nodes : Math.min(o.nodes, LOOPBACK_NODES)
  const rates = {
    nodeRate: o.nodeRate ?? DEFAULT_RATES.node,
    serverRate: o.serverRate ?? (mode.fleet ? DEFAULT_RATES.server : DEFAULT_RATES.loopbackServer),
  }
  if (!mode.fleet) {
    say(
      `imgswarm demo: the simulated fleet needs root and iproute2 (ip, tc) for network namespaces and ` +
        `link shaping; here: ${mode.why}.\nRunning the smaller loopback version instead: ${nodes} node(s) ` +
        `on 127.0.0.1, no link shaping, the server's upload capped at ${rates.serverRate} Mbit/s by ` +
        'serve.upload_limit.' +
        (root ? '' : ' Without root the sample has no post-install script (it runs in a chroot).'),
    )
  }
  const cleanup = new Cleanup()
  const work = await mkdtemp(join(o.workParent ?? tmpdir(), 'imgswarm-demo-'))
  if (!o.keep) cleanup.addSync(removeSync(work))
  try {
    return await demoIn(work, cleanup, { ...o, ...rates }, { fleet: mode.fleet, nodes, root })
  } finally {
    const problems = await cleanup.run()
    for (const p of problems) say(`imgswarm demo: cleanup: ${p}`)
    say(
      `cleaned up: processes stopped, namespaces and loop devices removed, ` +
        (o.keep ? `work directory kept: ${work}` : 'work directory deleted'),
    )
  }
}

async function demoIn(
  work: string,
  cleanup: Cleanup,
  o: DemoOptions & { nodeRate: number; serverRate: number },
  m: { fleet: boolean; nodes: number; root: boolean },
): Promise<DemoSummary> {
  const nodeBps = (o.nodeRate * 1e6) / 8
  const serverBps = (o.serverRate * 1e6) / 8
  let topo: Topology
  if (m.fleet) {
    say(`creating a simulated fleet: a server and ${m.nodes} node(s) in network namespaces`)
    topo = await fleetTopology(m.nodes, { nodeBps: o.nodeRate * 1e6, serverBps: o.serverRate * 1e6 })
  } else topo = loopbackTopology(m.nodes, o.disks)
  cleanup.add('fleet', () => topo.destroy())
  o.signal.throwIfAborted()

  const names = topo.nodes.map((h) => h.name)
  const ds = await prepareStore({
    work,
    nodes: names,
    dataMb: o.sampleMb ?? (m.fleet ? 64 : 24),
    postInstall: m.root,
    disks: o.disks,
    uploadLimit: m.fleet ? 0 : Math.round(serverBps),
    say,
  })
  o.signal.throwIfAborted()

  let disks: LoopDisks | undefined
  if (o.disks) {
    const MiB = 1024 * 1024
    const size = Math.max(256, Math.ceil((ds.archiveBytes * 1.5) / MiB) + 128) * MiB
    disks = await attachDisks(join(work, 'disks'), names, size)
    const d = disks
    cleanup.add('loop devices', async () => {
      // Nothing may hold a disk open any more: the nodes go first.
      await topo.destroy()
      const p = await d.detach()
      if (p.length > 0) throw new Error(p.join('; '))
    })
    cleanup.addSync(detachSync(() => d.attached()))
    cleanup.add('mounts', () => unmountAll(work))
    say(`attached ${disks.devices.size} loop-device disk(s) of ${size / MiB} MiB`)
  }

  const port = m.fleet ? 8470 : await freeLocalPort()
  const publicUrl = `http://${topo.server.ip}:${port}`
  const env = { ...process.env, IMGSWARM_CONFIG: 'none' }
  const serve = startServe({
    host: topo.server,
    store: ds.store.root,
    configFile: ds.configFile,
    port,
    listen: m.fleet ? '0.0.0.0' : '127.0.0.1',
    publicUrl,
    env,
  })
  cleanup.add('serve', () => serve.stop())
  const access: ApiAccess = m.fleet
    ? await relayAccess(topo.server, port, join(work, 'api.sock'), env)
    : directAccess(publicUrl)
  cleanup.add('API relay', () => access.close())
  // The admin token appears when serve starts; wait for the file, then for readiness.
  const api = new ApiClient(access.url, '')
  await api.waitReady(serve.died, o.signal)
  const token = (await readFile(ds.adminTokenFile, 'utf8')).trim()
  const client = new ApiClient(access.url, token)
  const shown = m.fleet && (await answers(publicUrl)) ? publicUrl : access.url
  say(
    `image server up at ${publicUrl}${m.fleet ? ` (on the host "server", ${topo.server.ip})` : ''}\n` +
      `  dashboard while it runs: ${shown}/ui/` +
      (shown === publicUrl ? '' : ` (forwarded to ${publicUrl})`) +
      ` (log in with the admin token: cat ${ds.adminTokenFile})` +
      `\n  in a terminal: imgswarm status --watch --server ${shown} --token "$(cat ${ds.adminTokenFile})"` +
      `\n  curl -s -H "Authorization: Bearer $(cat ${ds.adminTokenFile})" '${shown}/api/v1/events?limit=20'` +
      `\nreimaging ${m.nodes} node(s) with sample@1 (${(ds.archiveBytes / 1e6).toFixed(1)} MB)` +
      (m.fleet ? `: node links ${o.nodeRate} Mbit/s, server uplink ${o.serverRate} Mbit/s` : ''),
  )

  const targetOf = (n: string) => join(work, 'nodes', n)
  const run = await runFleet({
    hosts: topo.nodes,
    install: (h) => ({
      server: publicUrl,
      pubkey: ds.pubkey,
      dest: disks
        ? { disk: disks.devices.get(h.name) as string, mountDir: join(work, 'mnt', h.name) }
        : { targetDir: targetOf(h.name) },
      seedTime: o.seedTime,
      env,
    }),
    api: client,
    archiveBytes: ds.archiveBytes,
    signal: o.signal,
    serverDied: serve.died,
    timeoutMs: o.timeoutSec * 1000,
    out: process.stderr,
    tty: process.stderr.isTTY === true && !process.env.CI,
  })

  const checks = []
  for (const [i, r] of run.runs.entries()) {
    const res = run.results[i] as (typeof run.results)[number]
    const dev = disks?.devices.get(r.name)
    checks.push(
      await checkNode({
        name: r.name,
        exit: { code: res.code, signal: res.signal },
        stdout: res.stdout,
        tail: r.tail,
        tree: ds.tree,
        sample: ds.sample,
        withRoot: (fn) =>
          dev === undefined ? fn(targetOf(r.name)) : withRootMounted(dev, join(work, 'check', r.name), fn),
      }),
    )
  }
  const summary = summarize({
    mode: m.fleet ? 'fleet' : 'loopback',
    nodes: m.nodes,
    imageBytes: ds.archiveBytes,
    installedAt: run.state.nodes.map((n) => n.installedAt),
    serverRate: serverBps,
    nodeRate: m.fleet ? nodeBps : undefined,
    seederUploaded: run.state.seederUploaded,
    checks,
    checked: checkedWhat(ds.sample),
  })
  const rates = m.fleet
    ? `simulated fleet, node links ${o.nodeRate} Mbit/s, server uplink ${o.serverRate} Mbit/s`
    : `loopback, server upload capped at ${o.serverRate} Mbit/s`
  if (!o.json) process.stdout.write(`${formatSummary(summary, rates).join('\n')}\n`)
  return summary
}
