// A DHCP test client for proxy-DHCP mode, run inside a client namespace
// (`ip netns exec NS node test/pxe/dhcp-probe.ts ...`). busybox udhcpc keeps
// only one offer, but proxy-DHCP is about the second one: this sends one
// PXE DISCOVER (or a REQUEST to the proxy's port 4011) and prints every
// answer as JSON lines. Test code: the server side under test is real dnsmasq.
//   dhcp-probe.ts discover MAC ARCH [USERCLASS]          broadcast, from port 68
//   dhcp-probe.ts request4011 MAC ARCH CLIENT_IP SERVER   unicast to SERVER:4011
import { randomBytes } from 'node:crypto'
import { createSocket } from 'node:dgram'

const [mode, macText, archText, a3, a4] = process.argv.slice(2)
const mac = Buffer.from((macText ?? '').replace(/:/g, ''), 'hex')
const arch = Number(archText)
const xid = randomBytes(4)

function opt(code: number, value: Buffer): Buffer {
  return Buffer.concat([Buffer.from([code, value.length]), value])
}

function packet(type: number, ciaddr: string, userClass?: string, bootItem?: number): Buffer {
  const h = Buffer.alloc(240)
  h[0] = 1 // BOOTREQUEST
  h[1] = 1 // Ethernet
  h[2] = 6
  xid.copy(h, 4)
  h.writeUInt16BE(ciaddr === '0.0.0.0' ? 0x8000 : 0, 10) // broadcast flag while we have no address
  Buffer.from(ciaddr.split('.').map(Number)).copy(h, 12)
  mac.copy(h, 28)
  h.writeUInt32BE(0x63825363, 236) // magic cookie
  const archBuf = Buffer.alloc(2)
  archBuf.writeUInt16BE(arch)
  const opts = [
    opt(53, Buffer.from([type])),
    opt(60, Buffer.from(`PXEClient:Arch:${String(arch).padStart(5, '0')}:UNDI:002001`)),
    opt(93, archBuf),
    opt(94, Buffer.from([1, 2, 1])),
    opt(97, Buffer.concat([Buffer.from([0]), randomBytes(16)])),
    opt(55, Buffer.from([1, 3, 43, 60, 66, 67, 97])),
  ]
  if (userClass) opts.push(opt(77, Buffer.from(userClass)))
  // PXE_BOOT_ITEM (option 43, sub-option 71): the menu entry chosen, layer 0 (PXE spec 2.1, table 2-1).
  if (bootItem !== undefined) opts.push(opt(43, Buffer.from([71, 4, bootItem >> 8, bootItem & 255, 0, 0, 255])))
  return Buffer.concat([h, ...opts, Buffer.from([255])])
}

function parse(b: Buffer): Record<string, unknown> {
  const ip = (o: number) => [...b.subarray(o, o + 4)].join('.')
  const cstr = (o: number, n: number) =>
    b
      .subarray(o, o + n)
      .toString('latin1')
      .replace(/\0.*$/s, '')
  const options: Record<number, Buffer> = {}
  for (let i = 240; i < b.length; ) {
    const code = b[i] as number
    if (code === 255) break
    if (code === 0) {
      i++
      continue
    }
    const len = b[i + 1] as number
    options[code] = b.subarray(i + 2, i + 2 + len)
    i += 2 + len
  }
  return {
    xidOk: b.subarray(4, 8).equals(xid),
    type: options[53]?.[0],
    yiaddr: ip(16),
    siaddr: ip(20),
    serverId: options[54] ? [...options[54]].join('.') : undefined,
    file: cstr(108, 128),
    vendorClass: options[60]?.toString('latin1'),
    bootfileOption: options[67]?.toString('latin1'),
    hasPxeMenu: options[43] !== undefined,
    menuItem: firstMenuItem(options[43]),
  }
}

/** The boot server type of the first PXE_BOOT_MENU (sub-option 9) entry. */
function firstMenuItem(o43: Buffer | undefined): number | undefined {
  if (!o43) return undefined
  for (let i = 0; i + 1 < o43.length; ) {
    const code = o43[i] as number
    if (code === 255) break
    const len = o43[i + 1] as number
    if (code === 9 && len >= 2) return o43.readUInt16BE(i + 2)
    i += 2 + len
  }
  return undefined
}

const sock = createSocket({ type: 'udp4', reuseAddr: true })
const fail = (e: Error | null) => {
  if (e) {
    process.stderr.write(`send: ${e.message}\n`)
    process.exit(1)
  }
}
let chose = false
sock.on('message', (m) => {
  const p = parse(m)
  if (!p.xidOk) return
  process.stdout.write(`${JSON.stringify(p)}\n`)
  // As a PXE ROM does: pick the first menu entry and ask the boot server for it.
  if (mode === 'request4011' && !chose && typeof p.menuItem === 'number') {
    chose = true
    sock.send(packet(3, a3 as string, undefined, p.menuItem), 4011, a4, fail)
  }
})
if (mode === 'discover') {
  sock.bind(68, () => {
    sock.setBroadcast(true)
    sock.send(packet(1, '0.0.0.0', a3), 67, '255.255.255.255', fail)
  })
} else if (mode === 'request4011') {
  sock.bind(68, a3, () => sock.send(packet(3, a3 as string, undefined), 4011, a4, fail))
} else {
  process.stderr.write('usage: dhcp-probe.ts discover|request4011 ...\n')
  process.exit(2)
}
setTimeout(() => sock.close(), 3000)
