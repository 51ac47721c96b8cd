// `boot pxe` output run by real dnsmasq in a network namespace, answered to
// real DHCP clients in another: busybox udhcpc (full mode), and, for the
// proxy-DHCP offers that udhcpc does not keep, the probe in dhcp-probe.ts.
// A real TFTP fetch (busybox tftp) of the BIOS loader.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cleanupStale, fleetUnsupported, type Host } from '../../fleetsim/index.ts'
import { createPxeLan, type PxeLan, SERVER_IP, type Spawned } from './lan.ts'

const why = fleetUnsupported()
/** One folder for a whole describe block (tempDir's are removed after each test). */
const tempDir = (prefix: string) => mkdtemp(join(process.env.IMGSWARM_TEST_TMP ?? tmpdir(), prefix))
const URL = `http://${SERVER_IP}:8470`
const SCRIPT = `${URL}/api/v1/boot/ipxe`
const PROBE = join(import.meta.dirname, 'dhcp-probe.ts')

interface Lease {
  ip: string
  siaddr: string
  boot_file: string
}

/** udhcpc with the options a PXE ROM sends; returns what the lease script saw. */
async function udhcpc(host: Host, dir: string, name: string, extra: string[]): Promise<Lease> {
  const out = join(dir, `${name}.lease`)
  const script = join(dir, `${name}.sh`)
  await writeFile(
    script,
    `#!/bin/sh\ncase "$1" in bound) echo "{\\"ip\\":\\"$ip\\",\\"siaddr\\":\\"$siaddr\\",\\"boot_file\\":\\"$boot_file\\"}" > ${out} ;; esac\n`,
    { mode: 0o755 },
  )
  const r = await host.exec(
    'busybox',
    ['udhcpc', '-i', 'eth0', '-f', '-q', '-n', '-t', '5', '-T', '1', '-s', script, ...extra],
    {
      timeoutMs: 30_000,
    },
  )
  if (r.code !== 0) throw new Error(`udhcpc failed (${r.code}): ${r.stderr}`)
  return JSON.parse(await readFile(out, 'utf8')) as Lease
}

const PXE_BIOS = ['-V', 'PXEClient:Arch:00000:UNDI:002001', '-x', '0x5d:0000']
const PXE_EFI = ['-V', 'PXEClient:Arch:00007:UNDI:003016', '-x', '0x5d:0007']
const IPXE = [
  '-V',
  'PXEClient:Arch:00000:UNDI:002001',
  '-x',
  '0x5d:0000',
  '-x',
  `0x4d:${Buffer.from('iPXE').toString('hex')}`,
]

async function probe(host: Host, args: string[]): Promise<Record<string, unknown>[]> {
  const r = await host.exec(process.execPath, [PROBE, ...args], { timeoutMs: 20_000 })
  if (r.code !== 0) throw new Error(`dhcp probe failed: ${r.stderr}`)
  return r.stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>)
}

if (why) it.skip(`PXE dnsmasq tests: ${why}`, () => {})

describe.runIf(!why)('boot pxe, full DHCP mode, with dnsmasq', () => {
  let lan: PxeLan
  let dir: string
  let dnsmasq: Spawned
  beforeAll(async () => {
    await cleanupStale()
    dir = await tempDir('imgswarm-pxe-full-')
    lan = await createPxeLan({ nodes: 1 })
    const client = lan.nodes[0] as Host
    await client.exec('ip', ['addr', 'flush', 'dev', 'eth0'])
    await lan.writeConfig({ mode: 'full', server: URL, out: join(dir, 'pxe'), range: '10.99.0.150,10.99.0.199,1h' })
    dnsmasq = await lan.startDnsmasq(join(dir, 'pxe'))
  }, 60_000)
  afterAll(async () => {
    await lan?.destroy()
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  it('gives a BIOS PXE client an address and undionly.kpxe over TFTP from this server', async () => {
    const lease = await udhcpc(lan.nodes[0] as Host, dir, 'bios', PXE_BIOS)
    expect(lease.boot_file).toBe('undionly.kpxe')
    expect(lease.siaddr).toBe(SERVER_IP)
    const last = Number(lease.ip.split('.')[3])
    expect(lease.ip.startsWith('10.99.0.')).toBe(true)
    expect(last).toBeGreaterThanOrEqual(150)
    expect(last).toBeLessThanOrEqual(199)
  })

  it('gives a UEFI client (architecture 7) the UEFI iPXE, and an iPXE client the HTTP script URL', async () => {
    expect((await udhcpc(lan.nodes[0] as Host, dir, 'efi', PXE_EFI)).boot_file).toBe('snponly.efi')
    expect((await udhcpc(lan.nodes[0] as Host, dir, 'ipxe', IPXE)).boot_file).toBe(SCRIPT)
    // dnsmasq logged the exchanges (log-dhcp), tagged as it decided.
    expect(dnsmasq.log()).toMatch(/tags: .*ipxe/)
  })

  it('serves undionly.kpxe over TFTP, byte for byte', async () => {
    const client = lan.nodes[0] as Host
    const lease = await udhcpc(client, dir, 'tftp', PXE_BIOS)
    await client.exec('ip', ['addr', 'add', `${lease.ip}/24`, 'dev', 'eth0'])
    const got = join(dir, 'fetched.kpxe')
    const r = await client.exec('busybox', ['tftp', '-g', '-r', 'undionly.kpxe', '-l', got, SERVER_IP], {
      timeoutMs: 30_000,
    })
    expect(r.code, r.stderr).toBe(0)
    expect((await readFile(got)).equals(await readFile('/usr/lib/ipxe/undionly.kpxe'))).toBe(true)
    // Nothing outside the TFTP root.
    const bad = await client.exec('busybox', ['tftp', '-g', '-r', '../dnsmasq.conf', '-l', join(dir, 'x'), SERVER_IP], {
      timeoutMs: 30_000,
    })
    expect(bad.code).not.toBe(0)
  })
})

describe.runIf(!why)('boot pxe, proxy-DHCP mode beside another DHCP server', () => {
  let lan: PxeLan
  let dir: string
  let clientIp: string
  beforeAll(async () => {
    await cleanupStale()
    dir = await tempDir('imgswarm-pxe-proxy-')
    lan = await createPxeLan({ nodes: 2 })
    const [site, client] = lan.nodes as [Host, Host]
    // The site's DHCP server: a plain dnsmasq on node01, nothing about PXE.
    const siteConf = join(dir, 'site.conf')
    await writeFile(
      siteConf,
      'port=0\ninterface=eth0\nbind-interfaces\ndhcp-range=10.99.0.150,10.99.0.199,1h\nno-ping\nlog-dhcp\n',
    )
    const siteDhcp = lan.spawnOn(site, 'dnsmasq', [
      '--keep-in-foreground',
      `--conf-file=${siteConf}`,
      '--log-facility=-',
      '--pid-file',
      '-u',
      'root',
    ])
    await siteDhcp.waitFor(/DHCP, IP range/, 15_000)
    await client.exec('ip', ['addr', 'flush', 'dev', 'eth0'])
    await lan.writeConfig({ mode: 'proxy', server: URL, out: join(dir, 'pxe') })
    await lan.startDnsmasq(join(dir, 'pxe'))
    // The client's address comes from the site server (a plain client: the proxy stays silent).
    const lease = await udhcpc(client, dir, 'plain', [])
    clientIp = lease.ip
    await client.exec('ip', ['addr', 'add', `${clientIp}/24`, 'dev', 'eth0'])
    // A route for the limited broadcast the probe sends (a real PXE ROM sends it from a raw socket).
    await client.exec('ip', ['route', 'add', 'default', 'dev', 'eth0'])
  }, 60_000)
  afterAll(async () => {
    await lan?.destroy()
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  it('the plain lease comes from the site server, without a boot file', () => {
    expect(Number(clientIp.split('.')[3])).toBeGreaterThanOrEqual(150)
  })

  it('a PXE DISCOVER gets the site offer with an address and the proxy offer with the PXE menu and no address', async () => {
    const offers = await probe(lan.nodes[1] as Host, ['discover', '52:54:00:00:00:42', '0'])
    const site = offers.find((o) => o.serverId === '10.99.0.101')
    const proxy = offers.find((o) => o.serverId === SERVER_IP)
    expect(site?.type).toBe(2)
    expect(site?.yiaddr).not.toBe('0.0.0.0')
    expect(proxy?.type).toBe(2)
    expect(proxy?.yiaddr).toBe('0.0.0.0')
    expect(proxy?.vendorClass).toBe('PXEClient')
    expect(proxy?.hasPxeMenu).toBe(true)
  })

  it('the proxy answers on port 4011 with the iPXE loader for the architecture', async () => {
    const bios = await probe(lan.nodes[1] as Host, ['request4011', '52:54:00:00:00:42', '0', clientIp, SERVER_IP])
    expect(bios.map((a) => a.file)).toContain('undionly.kpxe')
    const efi = await probe(lan.nodes[1] as Host, ['request4011', '52:54:00:00:00:42', '7', clientIp, SERVER_IP])
    expect(efi.map((a) => a.file)).toContain('snponly.efi')
  })

  it('an iPXE client gets the script URL in the proxy offer', async () => {
    const offers = await probe(lan.nodes[1] as Host, ['discover', '52:54:00:00:00:43', '0', 'iPXE'])
    const proxy = offers.find((o) => o.serverId === SERVER_IP)
    expect(proxy?.file).toBe(SCRIPT)
  })
})
