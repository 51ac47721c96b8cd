// The fleet harness: one server host and N node hosts, each in its own
// network namespace, joined by veth pairs to one bridge (in a namespace of
// its own), every link shaped with tc. Used by the fleet tests, `imgswarm
// demo` and bench/swarm. docs/fleet-harness.md.
import type { ChildProcess } from 'node:child_process'
import { errors } from '../common/errors.ts'
import { which } from './commands.ts'
import { register, unregister } from './exit.ts'
import { type Host, makeHost } from './host.ts'
import { checkTag, layout, MAX_NODES, randomTag } from './names.ts'
import { build, namesOf } from './setup.ts'
import { checkRate } from './shaping.ts'
import { removeStale, teardown, teardownSync } from './teardown.ts'

export type { Host } from './host.ts'

export interface FleetSpec {
  /** Node hosts, 1..64. */
  nodes: number
  /** Link rates in bits per second; each link is shaped in both directions (egress on both veth ends). */
  nodeUpBps: number
  nodeDownBps: number
  serverUpBps: number
  /** Default: serverUpBps. */
  serverDownBps?: number
  /** netem delay per direction (one way, host to host), default 0. */
  latencyMs?: number
  /** netem loss on what each host sends, default 0. */
  lossPct?: number
  /** Short unique tag for namespace names (default: random); also used by cleanupStale. */
  tag?: string
}

export interface Fleet {
  spec: FleetSpec
  server: Host
  nodes: Host[]
  /** Kills every process started through spawn, removes the namespaces, veths and the bridge. Idempotent. */
  destroy(): Promise<void>
  /** Extra (not in the lead's contract): the namespace of the bridge and the bridge-side veth ends. */
  switchNetns?: string
}

function checkSpec(spec: FleetSpec): void {
  if (!Number.isInteger(spec.nodes) || spec.nodes < 1 || spec.nodes > MAX_NODES) {
    throw errors.usage(`a fleet has 1 to ${MAX_NODES} nodes (got ${String(spec.nodes)})`)
  }
  checkRate('nodeUpBps', spec.nodeUpBps)
  checkRate('nodeDownBps', spec.nodeDownBps)
  checkRate('serverUpBps', spec.serverUpBps)
  if (spec.serverDownBps !== undefined) checkRate('serverDownBps', spec.serverDownBps)
  const lat = spec.latencyMs ?? 0
  if (!Number.isFinite(lat) || lat < 0 || lat > 10_000) throw errors.usage(`fleet latencyMs: 0 to 10000 (got ${lat})`)
  const loss = spec.lossPct ?? 0
  if (!Number.isFinite(loss) || loss < 0 || loss > 100) throw errors.usage(`fleet lossPct: 0 to 100 (got ${loss})`)
}

export async function createFleet(spec: FleetSpec): Promise<Fleet> {
  const why = fleetUnsupported()
  if (why) throw errors.usage(`cannot build a fleet here: ${why}`, 'run as root on Linux with iproute2 (ip, tc)')
  checkSpec(spec)
  const l = layout(process.pid, checkTag(spec.tag ?? randomTag()), spec.nodes)
  const names = namesOf(l)
  const children = new Set<ChildProcess>()
  let destroyed = false
  let destroying: Promise<void> | undefined
  const sync = () => {
    destroyed = true
    teardownSync(names, children)
  }
  register(sync)
  const destroy = () => {
    destroyed = true
    destroying ??= teardown(names, children).finally(() => unregister(sync))
    return destroying
  }
  const net = { latencyMs: spec.latencyMs ?? 0, lossPct: spec.lossPct ?? 0 }
  const serverDown = spec.serverDownBps ?? spec.serverUpBps
  try {
    await build(l, {
      up: (h) => ({ bps: h === l.server ? spec.serverUpBps : spec.nodeUpBps, ...net }),
      down: (h) => ({ bps: h === l.server ? serverDown : spec.nodeDownBps }),
    })
  } catch (e) {
    await destroy().catch(() => {})
    if ((net.latencyMs > 0 || net.lossPct > 0) && /qdisc kind is unknown/.test((e as Error).message)) {
      throw errors.usage(
        'fleet latencyMs and lossPct need the netem qdisc, which this kernel lacks (CONFIG_NET_SCH_NETEM)',
        'leave latency and loss at 0 here, or use a kernel with sch_netem',
      )
    }
    throw e
  }
  const isDestroyed = () => destroyed
  return {
    spec: { ...spec },
    server: makeHost(l.server, children, isDestroyed),
    nodes: l.nodes.map((h) => makeHost(h, children, isDestroyed)),
    destroy,
    switchNetns: l.switchNs,
  }
}

/** Removes leftovers (namespaces and the links in them, processes) of fleets whose owning process is gone. */
export async function cleanupStale(): Promise<string[]> {
  if (fleetUnsupported()) return []
  return removeStale()
}

/** Why this machine cannot run a fleet (not root, no ip/tc), or undefined. */
export function fleetUnsupported(): string | undefined {
  if (process.platform !== 'linux') return 'network namespaces need Linux'
  if (process.getuid?.() !== 0) return 'network namespaces and tc need root'
  const missing = ['ip', 'tc'].filter((t) => which(t) === undefined)
  if (missing.length > 0) return `${missing.join(' and ')} not found (Debian package iproute2)`
  return undefined
}

export { cutLinks, type Partition, type PortBytes, partition, portBytes, portOf, restoreLinks } from './faults.ts'
export { type ProbeResult, probe } from './probe.ts'
export { TCP_GOODPUT } from './shaping.ts'
