// Where the demo's server and nodes run: hosts of a simulated fleet (network
// namespaces with shaped links, fleetsim/), or plain processes on loopback
// when the machine cannot run a fleet.
import { type ChildProcess, spawn } from 'node:child_process'

export interface DemoHost {
  name: string
  /** The address other hosts reach it at. */
  ip: string
  spawn(cmd: string, args: string[], env: NodeJS.ProcessEnv): ChildProcess
}

export interface Topology {
  kind: 'fleet' | 'loopback'
  server: DemoHost
  nodes: DemoHost[]
  /** Kills what was spawned; for a fleet, removes namespaces and links. Idempotent. */
  destroy(): Promise<void>
}

export interface Rates {
  /** Bits per second. */
  nodeBps: number
  serverBps: number
}

type FleetModule = typeof import('../../fleetsim/index.ts')

let fleetModule: Promise<FleetModule | Error> | undefined
function loadFleet(): Promise<FleetModule | Error> {
  // Loaded on demand: the rest of the CLI never depends on the harness.
  fleetModule ??= import('../../fleetsim/index.ts').then(
    (m) => m,
    (e: unknown) => (e instanceof Error ? e : new Error(String(e))),
  )
  return fleetModule
}

/** Why this machine cannot run the fleet (not root, no ip/tc, no harness), or undefined. */
export async function fleetUnsupported(): Promise<string | undefined> {
  const m = await loadFleet()
  if (m instanceof Error) return `the fleet harness (fleetsim/) cannot be loaded: ${m.message.split('\n')[0]}`
  return m.fleetUnsupported()
}

const PIPES = ['ignore', 'pipe', 'pipe'] as const

export async function fleetTopology(nodes: number, rates: Rates): Promise<Topology> {
  const m = await loadFleet()
  if (m instanceof Error) throw m
  // Leftovers of a demo or test that was killed before it could clean up.
  await m.cleanupStale().catch(() => [])
  const fleet = await m.createFleet({
    nodes,
    nodeUpBps: rates.nodeBps,
    nodeDownBps: rates.nodeBps,
    serverUpBps: rates.serverBps,
    serverDownBps: Math.max(rates.serverBps, rates.nodeBps),
  })
  const host = (h: (typeof fleet.nodes)[number]): DemoHost => ({
    name: h.name,
    ip: h.ip,
    spawn: (cmd, args, env) => h.spawn(cmd, args, { env, stdio: [...PIPES] }),
  })
  return {
    kind: 'fleet',
    server: host(fleet.server),
    nodes: fleet.nodes.map(host),
    destroy: () => fleet.destroy(),
  }
}

/**
 * Processes on this machine. With `privateMounts` (root) each runs in a mount
 * namespace of its own, as on a fleet host: what a node mounts never enters
 * this machine's mount table, where every mount namespace created meanwhile
 * (any `ip netns exec` on the machine) would copy it and keep its file
 * system alive after the node unmounts it.
 */
export function loopbackTopology(nodes: number, privateMounts = false): Topology {
  const children = new Set<ChildProcess>()
  const local = (name: string): DemoHost => ({
    name,
    ip: '127.0.0.1',
    spawn: (cmd, args, env) => {
      const [c0, a0] = privateMounts ? ['unshare', ['--mount', '--propagation', 'private', cmd, ...args]] : [cmd, args]
      const c = spawn(c0 as string, a0 as string[], { env, stdio: [...PIPES] })
      children.add(c)
      c.once('exit', () => children.delete(c))
      return c
    },
  })
  return {
    kind: 'loopback',
    server: local('server'),
    nodes: Array.from({ length: nodes }, (_, i) => local(nodeName(i))),
    destroy: async () => {
      const left = [...children]
      for (const c of left) c.kill('SIGTERM')
      await Promise.all(left.map((c) => exited(c, 5000)))
      for (const c of left) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
    },
  }
}

export function nodeName(i: number): string {
  return `node${String(i + 1).padStart(2, '0')}`
}

/** Resolves when the child has exited, or after `ms`. */
export function exited(c: ChildProcess, ms: number): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms)
    c.once('exit', () => {
      clearTimeout(t)
      resolve()
    })
  })
}
