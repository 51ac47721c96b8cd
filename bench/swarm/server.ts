// The server host's programs: `imgswarm serve` (ours and the unicast
// baseline), `imgswarm tracker` (the aria2c swarm), and what we read from
// that host: its interface byte counters and serve's stored events.
import type { ChildProcess } from 'node:child_process'
import { closeSync, openSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { errors } from '../../common/errors.ts'
import type { Host } from '../../fleetsim/index.ts'
import type { Image } from './image.ts'
import { stop } from './procs.ts'
import type { Launcher } from './tools.ts'

export const SERVE_PORT = 8470
export const TRACKER_PORT = 6969

export interface Serve {
  url: string
  /** Server-relative web seed path of the image (from a plan). */
  webseed: string
  pubkey: string
  stop(): Promise<void>
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** GET through curl inside the host's namespace (the bench's own namespace cannot reach the fleet's addresses). */
export async function get(host: Host, url: string, headers: string[] = []): Promise<string | undefined> {
  const args = ['-sf', '--max-time', '10', ...headers.flatMap((h) => ['-H', h]), url]
  const r = await host.exec('curl', args, { timeoutMs: 15_000 })
  return r.code === 0 ? r.stdout : undefined
}

function spawnLogged(host: Host, l: Launcher, args: string[], logFile: string): ChildProcess {
  const fd = openSync(logFile, 'a')
  const child = host.spawn(l.cmd, [...l.pre, ...args], { env: l.env, stdio: ['ignore', fd, fd] })
  closeSync(fd)
  return child
}

async function waitFor(child: ChildProcess, what: string, logFile: string, ok: () => Promise<boolean>) {
  const deadline = Date.now() + 120_000
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw errors.tool(what, `exited at start; see ${logFile}`)
    if (await ok()) return
    if (Date.now() > deadline) throw errors.tool(what, `not ready after 120 s; see ${logFile}`)
    await sleep(300)
  }
}

export async function startServe(host: Host, l: Launcher, image: Image, node: string, logFile: string): Promise<Serve> {
  const url = `http://${host.ip}:${SERVE_PORT}`
  const args = ['serve', '--store', image.store, '--config', 'none', '--host', '0.0.0.0', '--port', String(SERVE_PORT)]
  args.push('--public-url', url, '--no-udp', '--log-level', 'warn')
  const child = spawnLogged(host, l, args, logFile)
  try {
    await waitFor(
      child,
      'imgswarm serve',
      logFile,
      async () => (await get(host, `${url}/api/v1/health/ready`)) !== undefined,
    )
    const plan = await get(host, `${url}/api/v1/plan?hostname=${node}`)
    if (plan === undefined) throw errors.tool('GET /api/v1/plan', `no plan for ${node}; see ${logFile}`)
    const webseed = (JSON.parse(plan) as { image: { webseed: string } }).image.webseed
    return { url, webseed, pubkey: join(image.store, 'keys', 'manifest-signing.pub'), stop: () => stop(child) }
  } catch (e) {
    await stop(child)
    throw e
  }
}

export interface StoredEvent {
  node: string
  step: string
  percent?: number
  receivedAt?: string
}

export async function events(host: Host, s: Serve, store: string): Promise<StoredEvent[]> {
  const token = readFileSync(join(store, 'keys', 'admin.token'), 'utf8').trim()
  const body = await get(host, `${s.url}/api/v1/events?limit=10000`, [`authorization: Bearer ${token}`])
  return body === undefined ? [] : (JSON.parse(body) as { events: StoredEvent[] }).events
}

export async function startTracker(host: Host, l: Launcher, logFile: string) {
  const args = ['tracker', '--host', '0.0.0.0', '--port', String(TRACKER_PORT), '--no-udp', '--log-level', 'warn']
  const child = spawnLogged(host, l, args, logFile)
  const announce = `http://${host.ip}:${TRACKER_PORT}/announce`
  try {
    await waitFor(
      child,
      'imgswarm tracker',
      logFile,
      async () => (await get(host, `http://${host.ip}:${TRACKER_PORT}/stats`)) !== undefined,
    )
  } catch (e) {
    await stop(child)
    throw e
  }
  return { announce, stop: () => stop(child) }
}

/** Bytes sent by the host on all its interfaces but loopback (kernel counters: payload plus TCP/IP headers). */
export async function txBytes(host: Host): Promise<number> {
  const r = await host.exec('ip', ['-j', '-s', 'link', 'show'])
  if (r.code !== 0) throw errors.tool('ip -s link', r.stderr)
  const links = JSON.parse(r.stdout) as { ifname: string; stats64?: { tx: { bytes: number } } }[]
  return links.filter((x) => x.ifname !== 'lo').reduce((sum, x) => sum + (x.stats64?.tx.bytes ?? 0), 0)
}

/** The first interface of the host that holds its fleet address (udpcast wants it named). */
export async function interfaceOf(host: Host): Promise<string> {
  const r = await host.exec('ip', ['-j', '-4', 'addr', 'show'])
  const links = JSON.parse(r.stdout) as { ifname: string; addr_info: { local: string }[] }[]
  const l = links.find((x) => x.addr_info.some((a) => a.local === host.ip))
  if (!l) throw errors.tool('ip addr', `no interface with ${host.ip} in ${host.netns}`)
  return l.ifname
}
