// Wake-on-LAN: the magic packet (6 x 0xFF, then the MAC 16 times) as a UDP
// broadcast. Node cannot bind a socket to a device (SO_BINDTODEVICE), so an
// interface is chosen by its IPv4 address: the socket binds to it and sends
// to that interface's directed broadcast address (from os.networkInterfaces),
// which the kernel routes out of that interface.
import { createSocket } from 'node:dgram'
import { networkInterfaces } from 'node:os'
import { errors } from '../../common/errors.ts'

export const WOL_PORT = 9

export function magicPacket(mac: string): Buffer {
  const hex = mac.replace(/[:-]/g, '')
  if (!/^[0-9a-fA-F]{12}$/.test(hex)) throw errors.power('wol', mac, 'not a MAC address')
  const m = Buffer.from(hex, 'hex')
  const p = Buffer.alloc(6 + 16 * 6, 0xff)
  for (let i = 0; i < 16; i++) m.copy(p, 6 + i * 6)
  return p
}

/** The IPv4 address of an interface and its directed broadcast address. */
export function interfaceBroadcast(name: string): { address: string; broadcast: string } {
  const list = networkInterfaces()[name]
  const v4 = list?.find((a) => a.family === 'IPv4' && !a.internal) ?? list?.find((a) => a.family === 'IPv4')
  if (!v4) {
    const names = Object.keys(networkInterfaces()).join(', ')
    throw errors.power('wol', name, `no interface ${name} with an IPv4 address (have: ${names})`)
  }
  const a = v4.address.split('.').map(Number)
  const m = v4.netmask.split('.').map(Number)
  const b = a.map((x, i) => (x | (~(m[i] ?? 0) & 255)) & 255)
  return { address: v4.address, broadcast: b.join('.') }
}

export interface WolOptions {
  port?: number
  /** Destination address; default: the interface's broadcast address, else 255.255.255.255. */
  broadcast?: string | undefined
  /** Send out of this interface (its address is bound, its broadcast address is the default destination). */
  interface?: string | undefined
  /** Packets per call (WoL is fire-and-forget over UDP; a second copy covers a lost one). Default 3. */
  repeat?: number
}

/** Sends the magic packet for `mac`; resolves when the datagrams are handed to the kernel. */
export async function wake(mac: string, o: WolOptions = {}): Promise<{ to: string; port: number; from?: string }> {
  const packet = magicPacket(mac)
  const port = o.port ?? WOL_PORT
  const ifc = o.interface === undefined ? undefined : interfaceBroadcast(o.interface)
  const to = o.broadcast ?? ifc?.broadcast ?? '255.255.255.255'
  const sock = createSocket({ type: 'udp4', reuseAddr: true })
  try {
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject)
      sock.bind({ port: 0, ...(ifc ? { address: ifc.address } : {}) }, () => {
        sock.off('error', reject)
        resolve()
      })
    })
    sock.setBroadcast(true)
    for (let i = 0; i < (o.repeat ?? 3); i++) {
      await new Promise<void>((resolve, reject) => sock.send(packet, port, to, (e) => (e ? reject(e) : resolve())))
    }
  } catch (e) {
    throw errors.power('wol', mac, `cannot send to ${to}:${port}: ${(e as Error).message}`)
  } finally {
    sock.close()
  }
  return { to, port, ...(ifc ? { from: ifc.address } : {}) }
}
