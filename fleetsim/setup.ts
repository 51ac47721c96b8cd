// Building a fleet with few processes: one `ip -batch` in the root namespace
// makes every namespace and veth pair (each end created directly inside its
// namespace), one `ip` and one `tc` batch set up the switch, and one of each
// per host sets its address and shaping, a few hosts at a time.
import { batch, pool } from './commands.ts'
import { BRIDGE, HOST_IF, type HostPlan, type Layout, PREFIX_LEN } from './names.ts'
import { type Shape, shapeLines } from './shaping.ts'

export interface Rates {
  /** Per host name: what it sends (host end) and receives (bridge end). */
  up: (h: HostPlan) => Shape
  down: (h: HostPlan) => Shape
}

const WIDTH = 8

function hostsOf(l: Layout): HostPlan[] {
  return [l.server, ...l.nodes]
}

export function rootLines(l: Layout): string[] {
  const hosts = hostsOf(l)
  return [
    `netns add ${l.switchNs}`,
    ...hosts.map((h) => `netns add ${h.netns}`),
    ...hosts.map((h) => `link add ${h.port} netns ${l.switchNs} type veth peer name ${HOST_IF} netns ${h.netns}`),
  ]
}

export function switchLines(l: Layout): string[] {
  const ports = hostsOf(l).map((h) => h.port)
  return [
    'link set lo up',
    // No STP (ports forward at once), no multicast snooping (multicast floods, as udpcast expects).
    `link add ${BRIDGE} type bridge stp_state 0 forward_delay 0 mcast_snooping 0`,
    ...ports.map((p) => `link set ${p} master ${BRIDGE}`),
    ...ports.map((p) => `link set ${p} up`),
    `link set ${BRIDGE} up`,
  ]
}

export function hostLines(h: HostPlan): string[] {
  return [
    'link set lo up',
    `addr add ${h.ip}/${PREFIX_LEN} dev ${HOST_IF}`,
    `link set ${HOST_IF} up`,
    // Multicast leaves through the link (udpcast baselines); there is no default route.
    `route add 224.0.0.0/4 dev ${HOST_IF}`,
  ]
}

export async function build(l: Layout, rates: Rates): Promise<void> {
  await batch('ip', rootLines(l))
  await batch('ip', switchLines(l), { netns: l.switchNs })
  await batch(
    'tc',
    hostsOf(l).flatMap((h) => shapeLines(h.port, rates.down(h))),
    { netns: l.switchNs },
  )
  await pool(hostsOf(l), WIDTH, async (h) => {
    await batch('ip', hostLines(h), { netns: h.netns })
    await batch('tc', shapeLines(HOST_IF, rates.up(h)), { netns: h.netns })
  })
}

export function namesOf(l: Layout): string[] {
  return [l.switchNs, ...hostsOf(l).map((h) => h.netns)]
}
