// Checks the `boot pxe` inputs before anything is written: the interface is
// there (and has an IPv4 address), the URL is one iPXE can fetch, the range
// lies in the interface's subnet. Each mistake gets its own clear message.
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { isIPv4 } from 'node:net'
import { errors } from '../../common/errors.ts'
import { safeUrl } from '../../seeder/boot/script.ts'

export type PxeMode = 'proxy' | 'full'
export const PXE_MODES: readonly PxeMode[] = ['proxy', 'full']
export const EFI_LOADERS = ['snponly.efi', 'ipxe.efi'] as const
export type EfiLoader = (typeof EFI_LOADERS)[number]

export interface PxeInput {
  mode: string
  interface: string
  server: string
  range?: string
  efi?: string
}

export interface Ipv4Net {
  address: string
  prefix: number
}

export interface PxePlan {
  mode: PxeMode
  interface: string
  /** The interface's IPv4 address and prefix. */
  net: Ipv4Net
  /** Server URL without a trailing slash. */
  server: string
  /** full: the pool; proxy: the subnet. */
  range: { start: string; end: string; lease: string } | { network: string; netmask: string }
  efi: EfiLoader
}

const IFNAME = /^[A-Za-z0-9_.:@-]{1,15}$/
const LEASE = /^(infinite|[0-9]{1,7}[mhd]?)$/

const bad = (flag: string, detail: string, hint?: string) => errors.pxeOption(flag, detail, hint)

export function ipToInt(ip: string): number {
  return ip.split('.').reduce((n, o) => n * 256 + Number(o), 0)
}

export function intToIp(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.')
}

function maskOf(prefix: number): number {
  return prefix === 0 ? 0 : 2 ** 32 - 2 ** (32 - prefix)
}

const networkOf = (ip: string, prefix: number) => Math.floor(ipToInt(ip) / 2 ** (32 - prefix)) * 2 ** (32 - prefix)

/**
 * The first global IPv4 address of an interface, or undefined. From `ip`,
 * not os.networkInterfaces(), which leaves out interfaces without carrier
 * (a provisioning port whose switch is still off).
 */
export function interfaceIpv4(name: string): Ipv4Net | undefined {
  const r = spawnSync('ip', ['-j', '-4', 'addr', 'show', 'dev', name], { encoding: 'utf8' })
  if (r.status !== 0) return undefined
  try {
    const links = JSON.parse(r.stdout) as { addr_info?: { local?: string; prefixlen?: number; scope?: string }[] }[]
    const a = links[0]?.addr_info?.find((x) => x.scope !== 'host' && typeof x.local === 'string')
    return a?.local && a.prefixlen !== undefined ? { address: a.local, prefix: a.prefixlen } : undefined
  } catch {
    return undefined
  }
}

export function checkPxeInput(i: PxeInput): PxePlan {
  if (!(PXE_MODES as readonly string[]).includes(i.mode)) {
    throw bad(
      '--mode',
      `${JSON.stringify(i.mode)}: expected proxy or full`,
      'proxy: beside an existing DHCP server (it keeps handing out addresses); full: dnsmasq is the DHCP server of an isolated provisioning network',
    )
  }
  const mode = i.mode as PxeMode
  if (!IFNAME.test(i.interface) || !existsSync(`/sys/class/net/${i.interface}`)) {
    throw bad(
      '--interface',
      `no network interface ${JSON.stringify(i.interface)} on this machine`,
      'name the interface on the provisioning network (ip -br link lists them)',
    )
  }
  const net = interfaceIpv4(i.interface)
  if (!net) {
    throw bad(
      '--interface',
      `${i.interface} has no IPv4 address`,
      `give it a static address on the provisioning network first (ip addr add 10.0.0.1/24 dev ${i.interface}); dnsmasq answers from it and nodes fetch TFTP from it`,
    )
  }
  const server = checkServer(i.server)
  const efi = (i.efi ?? 'snponly.efi') as EfiLoader
  if (!(EFI_LOADERS as readonly string[]).includes(efi)) {
    throw bad('--efi', `${JSON.stringify(i.efi)}: expected snponly.efi or ipxe.efi`)
  }
  return { mode, interface: i.interface, net, server, range: checkRange(mode, i.range, net), efi }
}

function checkServer(v: string): string {
  let u: URL
  try {
    u = new URL(v)
  } catch {
    throw bad(
      '--server',
      `${JSON.stringify(v)} is not a URL`,
      'give the URL nodes reach serve at: http://10.0.0.1:8470',
    )
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw bad('--server', 'only http:// or https:// URLs')
  if (u.username || u.password || u.search || u.hash) {
    throw bad('--server', 'no user, password, query or fragment in the URL')
  }
  const url = u.href.replace(/\/+$/, '')
  if (!safeUrl(url)) throw bad('--server', `${JSON.stringify(v)} has characters iPXE would misread ($, quotes, spaces)`)
  if (u.hostname === 'localhost' || u.hostname.startsWith('127.') || u.hostname === '[::1]') {
    throw bad(
      '--server',
      `${url} is this machine's loopback address, which nodes cannot reach`,
      'use the address of the provisioning interface',
    )
  }
  return url
}

function checkIp(flag: string, v: string): string {
  if (!isIPv4(v)) throw bad(flag, `${JSON.stringify(v)} is not an IPv4 address`)
  return v
}

function checkRange(mode: PxeMode, v: string | undefined, net: Ipv4Net): PxePlan['range'] {
  const subnet = `${intToIp(networkOf(net.address, net.prefix))}/${net.prefix}`
  const inNet = (ip: string) => networkOf(ip, net.prefix) === networkOf(net.address, net.prefix)
  if (mode === 'proxy') {
    // The subnet the other DHCP server serves: by default the interface's own.
    const network =
      v === undefined ? intToIp(networkOf(net.address, net.prefix)) : checkIp('--range', v.split(',')[0] ?? '')
    if (v !== undefined && v.split(',').length > 1) {
      throw bad(
        '--range',
        'in proxy mode --range is the subnet address alone (e.g. 10.0.0.0); the other DHCP server owns the pool',
      )
    }
    if (!inNet(network)) throw bad('--range', `${network} is not on ${subnet}, the subnet of the interface`)
    return { network: intToIp(networkOf(network, net.prefix)), netmask: intToIp(maskOf(net.prefix)) }
  }
  if (v === undefined) {
    throw bad(
      '--range',
      'full mode needs the address pool: --range START,END[,LEASE]',
      `for example --range ${suggest(net)}`,
    )
  }
  const parts = v.split(',')
  if (parts.length < 2 || parts.length > 3) throw bad('--range', `${JSON.stringify(v)}: expected START,END[,LEASE]`)
  const start = checkIp('--range', parts[0] as string)
  const end = checkIp('--range', parts[1] as string)
  const lease = parts[2] ?? '12h'
  if (!LEASE.test(lease))
    throw bad('--range', `lease ${JSON.stringify(lease)}: expected seconds, or a number with m, h or d, or infinite`)
  if (/^[0-9]+$/.test(lease) && Number(lease) < 120)
    throw bad('--range', "the lease must be at least 120 seconds (dnsmasq's minimum is 2 minutes)")
  if (ipToInt(start) > ipToInt(end)) throw bad('--range', `start ${start} is after end ${end}`)
  for (const ip of [start, end])
    if (!inNet(ip)) throw bad('--range', `${ip} is not on ${subnet}, the subnet of ${'the interface'}`)
  const self = ipToInt(net.address)
  if (self >= ipToInt(start) && self <= ipToInt(end)) {
    throw bad(
      '--range',
      `the pool ${start}-${end} holds this server's own address ${net.address}`,
      'leave it out of the pool',
    )
  }
  const netAddr = networkOf(net.address, net.prefix)
  const bcast = netAddr + 2 ** (32 - net.prefix) - 1
  if (net.prefix < 31 && (ipToInt(start) === netAddr || ipToInt(end) === bcast)) {
    throw bad('--range', 'the pool must not include the network or broadcast address')
  }
  return { start, end, lease }
}

function suggest(net: Ipv4Net): string {
  const base = networkOf(net.address, net.prefix)
  const size = 2 ** (32 - net.prefix)
  if (size < 16) return `${intToIp(base + 2)},${intToIp(base + size - 2)},12h`
  return `${intToIp(base + Math.floor(size / 2))},${intToIp(base + size - 2)},12h`
}
