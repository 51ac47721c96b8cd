// Lists of networks in CIDR notation ("10.0.0.0/8", "fd00::/8"), for the
// tracker's network allow-list and the rate limits' exemptions. IPv4-mapped
// IPv6 sources (::ffff:10.0.0.1, what a dual-stack socket reports) match the
// IPv4 networks.
import { BlockList, isIP } from 'node:net'
import { signErrors } from './errors-sign.ts'

export interface NetworkList {
  /** The networks as given, normalized (for logs and messages). */
  readonly networks: readonly string[]
  contains(address: string): boolean
}

const MAPPED = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i

/** `::ffff:10.0.0.1` -> `10.0.0.1`; brackets and zone ids dropped; undefined when not an address. */
export function plainAddress(address: string): string | undefined {
  let a = address.trim()
  if (a.startsWith('[') && a.endsWith(']')) a = a.slice(1, -1)
  const zone = a.indexOf('%')
  if (zone >= 0) a = a.slice(0, zone)
  const m = MAPPED.exec(a)
  if (m?.[1] !== undefined) a = m[1]
  return isIP(a) === 0 ? undefined : a.toLowerCase()
}

/** Parses CIDR strings; a bare address is a single host (/32 or /128). Throws IMGSWARM_ERR_NETWORK_LIST. */
export function parseNetworks(list: readonly unknown[], where: string): NetworkList {
  const block = new BlockList()
  const shown: string[] = []
  for (const item of list) {
    if (typeof item !== 'string') throw signErrors.networkList(where, String(item), 'not a string')
    const [addrPart, prefixPart, ...rest] = item.trim().split('/')
    if (rest.length > 0 || addrPart === undefined) throw signErrors.networkList(where, item, 'more than one "/"')
    const addr = plainAddress(addrPart)
    if (addr === undefined) throw signErrors.networkList(where, item, `${addrPart} is not an IP address`)
    const v6 = isIP(addr) === 6
    const max = v6 ? 128 : 32
    let prefix = max
    if (prefixPart !== undefined) {
      if (!/^\d{1,3}$/.test(prefixPart) || Number(prefixPart) > max) {
        throw signErrors.networkList(where, item, `the prefix length must be 0 to ${max}`)
      }
      prefix = Number(prefixPart)
    }
    block.addSubnet(addr, prefix, v6 ? 'ipv6' : 'ipv4')
    shown.push(`${addr}/${prefix}`)
  }
  return {
    networks: shown,
    contains(address: string): boolean {
      const a = plainAddress(address)
      if (a === undefined) return false
      return block.check(a, isIP(a) === 6 ? 'ipv6' : 'ipv4')
    },
  }
}

/** Loopback: the server's own host. */
export const LOOPBACK = ['127.0.0.0/8', '::1/128'] as const
