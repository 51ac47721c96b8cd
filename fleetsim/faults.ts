// Network faults on a running fleet, made in its switch namespace (the
// hosts' own interfaces, addresses and routes are never touched):
// - cut: a host's bridge port goes down, as if its cable were pulled at the
//   switch; the host sees no carrier, packets to and from it are lost, and
//   its TCP connections stall (no reset) until the port comes back.
// - partition: some hosts' ports move to a second bridge, so each side still
//   reaches its own members but nothing crosses; heal() moves them back.
// Both go through `ip` only (this kernel has no netem, no bridge VLAN
// filtering and no device mapper). docs/fleet-harness.md#faults.
import { errors } from '../common/errors.ts'
import { batch, run, toolPath } from './commands.ts'
import type { Fleet, Host } from './index.ts'
import { BRIDGE } from './names.ts'

/** The second bridge of a partition, in the switch namespace. */
export const PARTITION_BRIDGE = 'br1'

/** The bridge-side veth end of a host (names.ts: p00 for the server, pN for nodeNN). */
export function portOf(host: Pick<Host, 'name'>): string {
  if (host.name === 'server') return 'p00'
  const m = /^node(\d\d)$/.exec(host.name)
  if (!m) throw errors.usage(`fleet host ${JSON.stringify(host.name)} has no switch port`)
  return `p${Number(m[1])}`
}

function switchOf(fleet: Fleet): string {
  if (fleet.switchNetns === undefined) throw errors.usage('this fleet has no switch namespace')
  return fleet.switchNetns
}

/** Takes the hosts' switch ports down: they lose their link until restore(). */
export async function cutLinks(fleet: Fleet, hosts: Host[]): Promise<void> {
  await batch(
    'ip',
    hosts.map((h) => `link set ${portOf(h)} down`),
    { netns: switchOf(fleet) },
  )
}

/** Brings the hosts' switch ports back up. */
export async function restoreLinks(fleet: Fleet, hosts: Host[]): Promise<void> {
  await batch(
    'ip',
    hosts.map((h) => `link set ${portOf(h)} up`),
    { netns: switchOf(fleet) },
  )
}

export interface Partition {
  /** The hosts cut off from the rest (they still reach each other). */
  side: Host[]
  /** Puts every port back on the main bridge. Idempotent. */
  heal(): Promise<void>
}

/**
 * Splits the fleet in two: `side` on a bridge of its own, everyone else on the
 * main one. The ports keep their shaping (the qdiscs sit on the ports).
 */
export async function partition(fleet: Fleet, side: Host[]): Promise<Partition> {
  if (side.length === 0) throw errors.usage('a partition needs at least one host on its side')
  const ns = switchOf(fleet)
  const ports = side.map(portOf)
  await batch(
    'ip',
    [
      `link add ${PARTITION_BRIDGE} type bridge stp_state 0 forward_delay 0 mcast_snooping 0`,
      `link set ${PARTITION_BRIDGE} up`,
      ...ports.map((p) => `link set ${p} master ${PARTITION_BRIDGE}`),
    ],
    { netns: ns },
  )
  let healed: Promise<void> | undefined
  return {
    side,
    heal() {
      healed ??= batch('ip', [...ports.map((p) => `link set ${p} master ${BRIDGE}`), `link del ${PARTITION_BRIDGE}`], {
        netns: ns,
      })
      return healed
    },
  }
}

export interface PortBytes {
  /** What the host received (the port's transmit count). */
  toHost: number
  /** What the host sent (the port's receive count). */
  fromHost: number
}

/** The kernel's byte counters of every host's switch port (headers included), by host name. */
export async function portBytes(fleet: Fleet): Promise<Map<string, PortBytes>> {
  const r = await run(toolPath('ip'), ['-n', switchOf(fleet), '-j', '-s', 'link', 'show'])
  if (r.code !== 0) throw errors.tool('ip -s link show', r.stderr.trim() || `exit ${r.code}`, 'iproute2')
  const links = JSON.parse(r.stdout) as { ifname: string; stats64?: { rx: { bytes: number }; tx: { bytes: number } } }[]
  const byPort = new Map(links.map((l) => [l.ifname, l.stats64]))
  const out = new Map<string, PortBytes>()
  for (const h of [fleet.server, ...fleet.nodes]) {
    const s = byPort.get(portOf(h))
    out.set(h.name, { toHost: s?.tx.bytes ?? 0, fromHost: s?.rx.bytes ?? 0 })
  }
  return out
}
