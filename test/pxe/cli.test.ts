// `imgswarm boot pxe` through the real launcher inside a network namespace
// (so the interface checks see a known network): every input mistake gets
// its own coded error and nothing is written; a good run writes the files.
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cleanupStale, fleetUnsupported } from '../../fleetsim/index.ts'
import { createPxeLan, type PxeLan, SERVER_IP } from './lan.ts'

const why = fleetUnsupported()
const URL = `http://${SERVER_IP}:8470`

if (why) it.skip(`boot pxe CLI tests: ${why}`, () => {})

describe.runIf(!why)('imgswarm boot pxe', () => {
  let lan: PxeLan
  let dir: string
  beforeAll(async () => {
    await cleanupStale()
    dir = await mkdtemp(join(process.env.IMGSWARM_TEST_TMP ?? tmpdir(), 'imgswarm-pxe-cli-'))
    lan = await createPxeLan({ nodes: 1 })
    // An interface without an address, beside eth0 (10.99.0.1/24).
    await lan.server.exec('ip', ['link', 'add', 'bare0', 'type', 'veth', 'peer', 'name', 'bare1'])
  }, 60_000)
  afterAll(async () => {
    await lan?.destroy()
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  const cases: [string, string[], RegExp][] = [
    [
      'an unknown mode',
      ['--mode', 'half', '--interface', 'eth0', '--server', URL],
      /--mode: "half": expected proxy or full/,
    ],
    ['a missing interface', ['--mode', 'proxy', '--interface', 'eth9', '--server', URL], /no network interface "eth9"/],
    [
      'a hostile interface name',
      ['--mode', 'proxy', '--interface', '../../x', '--server', URL],
      /no network interface/,
    ],
    [
      'an interface without IPv4',
      ['--mode', 'proxy', '--interface', 'bare0', '--server', URL],
      /bare0 has no IPv4 address/,
    ],
    ['a non-URL server', ['--mode', 'proxy', '--interface', 'eth0', '--server', 'server:8470'], /--server: only http/],
    ['a loopback server', ['--mode', 'proxy', '--interface', 'eth0', '--server', 'http://127.0.0.1:8470'], /loopback/],
    [
      'a URL iPXE would expand',
      ['--mode', 'proxy', '--interface', 'eth0', '--server', 'http://x/$' + '{mac}'],
      /iPXE would misread/,
    ],
    [
      'a URL with a query',
      ['--mode', 'proxy', '--interface', 'eth0', '--server', `${URL}/?a=1`],
      /no user, password, query/,
    ],
    [
      'full mode without a pool',
      ['--mode', 'full', '--interface', 'eth0', '--server', URL],
      /needs the address pool.*\n.*--range 10\.99\.0\.128,10\.99\.0\.254,12h/,
    ],
    [
      'a pool off the subnet',
      ['--mode', 'full', '--interface', 'eth0', '--server', URL, '--range', '10.98.0.10,10.98.0.20'],
      /10\.98\.0\.10 is not on 10\.99\.0\.0\/24/,
    ],
    [
      'a reversed pool',
      ['--mode', 'full', '--interface', 'eth0', '--server', URL, '--range', '10.99.0.90,10.99.0.20'],
      /start 10\.99\.0\.90 is after end 10\.99\.0\.20/,
    ],
    [
      'a pool holding the server',
      ['--mode', 'full', '--interface', 'eth0', '--server', URL, '--range', '10.99.0.1,10.99.0.20'],
      /holds this server's own address/,
    ],
    [
      'a pool reaching the broadcast address',
      ['--mode', 'full', '--interface', 'eth0', '--server', URL, '--range', '10.99.0.100,10.99.0.255'],
      /broadcast/,
    ],
    [
      'a bad lease',
      ['--mode', 'full', '--interface', 'eth0', '--server', URL, '--range', '10.99.0.100,10.99.0.200,1w'],
      /lease "1w"/,
    ],
    [
      'a too short lease',
      ['--mode', 'full', '--interface', 'eth0', '--server', URL, '--range', '10.99.0.100,10.99.0.200,60'],
      /at least 120 seconds/,
    ],
    [
      'a non-address in the pool',
      ['--mode', 'full', '--interface', 'eth0', '--server', URL, '--range', '10.99.0.100,x'],
      /"x" is not an IPv4 address/,
    ],
    [
      'a pool in proxy mode',
      ['--mode', 'proxy', '--interface', 'eth0', '--server', URL, '--range', '10.99.0.100,10.99.0.200'],
      /subnet address alone/,
    ],
    [
      'an unknown EFI loader',
      ['--mode', 'proxy', '--interface', 'eth0', '--server', URL, '--efi', 'grub.efi'],
      /--efi/,
    ],
  ]
  for (const [what, args, message] of cases) {
    it(`refuses ${what} with IMGSWARM_ERR_PXE_OPTION and writes nothing`, async () => {
      const out = join(dir, what.replace(/\W+/g, '-'))
      const r = await lan.cli(['boot', 'pxe', ...args, '--out', out])
      expect(r.code, r.stderr).toBe(2)
      expect(r.stderr).toContain('IMGSWARM_ERR_PXE_OPTION')
      expect(r.stderr).toMatch(message)
      expect(r.stderr).toContain('what to do:')
      expect(existsSync(out)).toBe(false)
    })
  }

  it('writes the config and the three iPXE loaders, and says how to start dnsmasq', async () => {
    const out = join(dir, 'good')
    const r = await lan.cli([
      'boot',
      'pxe',
      '--mode',
      'full',
      '--interface',
      'eth0',
      '--server',
      `${URL}/`,
      '--range',
      '10.99.0.100,10.99.0.200',
      '--out',
      out,
    ])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).toContain(`dnsmasq --keep-in-foreground --conf-file=${join(out, 'dnsmasq.conf')}`)
    const conf = await readFile(join(out, 'dnsmasq.conf'), 'utf8')
    expect(conf).toContain('dhcp-range=10.99.0.100,10.99.0.200,12h')
    expect(conf).toContain(`dhcp-boot=tag:ipxe,${URL}/api/v1/boot/ipxe`)
    expect(conf).toContain(`tftp-root=${join(out, 'tftp')}`)
    for (const f of ['undionly.kpxe', 'ipxe.efi', 'snponly.efi']) {
      expect((await readFile(join(out, 'tftp', f))).equals(await readFile(join('/usr/lib/ipxe', f)))).toBe(true)
    }
    // dnsmasq itself accepts it.
    const t = await lan.server.exec('dnsmasq', ['--test', `--conf-file=${join(out, 'dnsmasq.conf')}`])
    expect(t.stderr + t.stdout).toContain('syntax check OK')
  })
})
