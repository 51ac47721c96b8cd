// Names and addresses of a fleet. Every interface lives inside one of the
// fleet's own namespaces (the bridge too, in a "switch" namespace), so the
// 15-character interface limit never meets the tag and nothing is ever added
// to the machine's own network. The namespaces carry the owner's pid, which
// is how cleanupStale tells a leftover from a live fleet.
import { randomBytes } from 'node:crypto'
import { errors } from '../common/errors.ts'

export const PREFIX = 'isw'
/** Inside the switch namespace. */
export const BRIDGE = 'br0'
/** Inside every host namespace. */
export const HOST_IF = 'eth0'
/** One /24 per fleet; fleets never share a namespace, so they can all use it. */
export const SUBNET = '10.99.0'
export const PREFIX_LEN = 24
export const MAX_NODES = 64

const TAG = /^[a-z0-9]{1,12}$/
const OWNED = /^isw(\d+)-([a-z0-9]{1,12})-(sw|server|node\d\d)$/

export function randomTag(): string {
  return randomBytes(3).toString('hex')
}

export function checkTag(tag: string): string {
  if (!TAG.test(tag)) throw errors.invalidName('fleet tag', tag, '1 to 12 lower-case letters or digits')
  return tag
}

export interface HostPlan {
  name: string
  netns: string
  ip: string
  /** The bridge-side end of its veth pair, in the switch namespace. */
  port: string
}

export interface Layout {
  prefix: string
  switchNs: string
  server: HostPlan
  nodes: HostPlan[]
}

/** node01..node64: two digits, as the contract names them. */
export function nodeName(i: number): string {
  return `node${String(i).padStart(2, '0')}`
}

export function layout(owner: number, tag: string, nodes: number): Layout {
  const prefix = `${PREFIX}${owner}-${tag}-`
  const server = { name: 'server', netns: `${prefix}server`, ip: `${SUBNET}.1`, port: 'p00' }
  const hosts: HostPlan[] = []
  for (let i = 1; i <= nodes; i++) {
    hosts.push({ name: nodeName(i), netns: prefix + nodeName(i), ip: `${SUBNET}.${100 + i}`, port: `p${i}` })
  }
  return { prefix, switchNs: `${prefix}sw`, server, nodes: hosts }
}

/** The owner pid and tag of a namespace this harness made, or undefined. */
export function ownerOf(netns: string): { pid: number; tag: string } | undefined {
  const m = OWNED.exec(netns)
  if (!m) return undefined
  return { pid: Number(m[1]), tag: m[2] as string }
}
