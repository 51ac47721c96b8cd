// A real PXE boot, all real parts: QEMU guests (SeaBIOS with QEMU's iPXE
// ROM, TCG) on a bridge in a network namespace get DHCP from the dnsmasq
// that `imgswarm boot pxe` configured, and iPXE asks `imgswarm serve` (with
// its fleet database) what to do. `imgswarm node reimage` makes the next
// boot load the installer's kernel and initramfs over HTTP; a verified
// install sends the node back to its local disk. The installer is the tiny
// stand-in of tiny-boot.ts (the real one is D's end-to-end test).
import { existsSync } from 'node:fs'
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cleanupStale, fleetUnsupported } from '../../fleetsim/index.ts'
import { loadOrCreateSigningKey } from '../../seeder/store/keys.ts'
import { BIN, createPxeLan, type PxeLan, SERVER_IP, type Spawned, type Vm } from './lan.ts'
import { MARKER, tinyBootUnsupported, writeTinyInstaller } from './tiny-boot.ts'

const why = fleetUnsupported() ?? tinyBootUnsupported()
const URL = `http://${SERVER_IP}:8470`
const REIMAGE_MAC = '52:54:00:e5:00:01'
const LOCAL_MAC = '52:54:00:e5:00:02'
const UEFI_MAC = '52:54:00:e5:00:03'
const OVMF_CODE = '/usr/share/OVMF/OVMF_CODE_4M.fd'
const OVMF_VARS = '/usr/share/OVMF/OVMF_VARS_4M.fd'
const UEFI = existsSync(OVMF_CODE) && existsSync(OVMF_VARS)
// TCG on a shared 2-core machine: generous, and only an upper bound.
const BOOT_MS = 240_000

/** The serial console without terminal escapes, carriage returns and backspaces (iPXE's progress). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: removing the ESC sequences is the point
const plain = (s: string) => s.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/[\r\x08]/g, '')

if (why) it.skip(`QEMU PXE boot: ${why}`, () => {})

describe.runIf(!why)('QEMU PXE boot through dnsmasq and imgswarm serve', () => {
  let lan: PxeLan
  let dir: string
  let store: string
  let serve: Spawned
  const vms: Vm[] = []
  const imgswarm = async (args: string[]) => {
    const r = await lan.server.exec(BIN, [...args, '--store', store, '--server', URL], {
      env: { IMGSWARM_FROM_SOURCE: '1', IMGSWARM_CONFIG: 'none' },
    })
    if (r.code !== 0) throw new Error(`imgswarm ${args.join(' ')}: ${r.stderr}`)
    return r.stdout
  }
  const boot = async (mac: string, name: string, until: RegExp): Promise<string> => {
    const vm = await lan.startVm({ mac, serialLog: join(dir, `${name}.log`) })
    vms.push(vm)
    try {
      await vm.waitFor(until, BOOT_MS)
    } finally {
      vm.child.kill('SIGKILL')
    }
    return plain(vm.log())
  }
  beforeAll(async () => {
    await cleanupStale()
    dir = await mkdtemp(join(process.env.IMGSWARM_TEST_TMP ?? tmpdir(), 'imgswarm-pxe-qemu-'))
    store = join(dir, 'store')
    await loadOrCreateSigningKey(join(store, 'keys'))
    await writeTinyInstaller(join(store, 'boot'))
    await mkdir(join(dir, 'pxe'))
    lan = await createPxeLan({ nodes: 1 })
    // A loaded TCG host can fail the kernel's IO-APIC timer check and panic; the reimage script passes this on.
    await writeFile(join(dir, 'imgswarm.toml'), '[serve]\nboot_cmdline = "no_timer_check"\n')
    serve = lan.spawnOnServer(
      BIN,
      [
        ...['serve', '--store', store, '--config', join(dir, 'imgswarm.toml'), '--host', '0.0.0.0', '--port', '8470'],
        ...['--public-url', URL, '--log-level', 'info'],
      ],
      { IMGSWARM_FROM_SOURCE: '1', IMGSWARM_CONFIG: 'none' },
    )
    for (let t = 0; ; t++) {
      const r = await lan.server.exec('curl', ['-sf', `${URL}/api/v1/health`])
      if (r.code === 0) break
      if (t > 600) throw new Error(`serve did not start:\n${serve.log()}`)
      await new Promise((r) => setTimeout(r, 100))
    }
    await lan.writeConfig({ mode: 'full', server: URL, out: join(dir, 'pxe'), range: '10.99.0.150,10.99.0.199,1h' })
    await lan.startDnsmasq(join(dir, 'pxe'))
  }, 120_000)
  afterAll(async () => {
    for (const v of vms) v.child.kill('SIGKILL')
    await lan?.destroy()
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  it(
    'node reimage: the next boot loads the installer over HTTP with its command line; an unknown node boots its disk; after a verified install, so does the reimaged one',
    async () => {
      await writeFile(join(dir, 'nodes.csv'), `mac,ip,hostname,group\n${REIMAGE_MAC},,pxe01,lab\n`)
      await imgswarm(['node', 'import', join(dir, 'nodes.csv')])
      await imgswarm(['node', 'reimage', 'pxe01'])

      const [r, l] = await Promise.all([
        boot(REIMAGE_MAC, 'reimage', new RegExp(`${MARKER} cmdline: .*`)),
        boot(LOCAL_MAC, 'local', /Booting from Hard Disk/),
      ])
      // iPXE fetched the entry script, its own script and the installer, all over HTTP.
      expect(r).toContain(`Filename: ${URL}/api/v1/boot/ipxe`)
      expect(r).toContain(`imgswarm: ${REIMAGE_MAC}: reimage requested`)
      expect(r).toMatch(/api\/v1\/boot\/kernel\.\.\.[^\n]*ok/)
      expect(r).toMatch(/api\/v1\/boot\/initramfs\.\.\.[^\n]*ok/)
      const line = new RegExp(`${MARKER} cmdline: (.*)`).exec(r)?.[1] ?? ''
      expect(line).toContain(`imgswarm.server=${URL}`)
      expect(line).toContain(`imgswarm.mac=${REIMAGE_MAC}`)
      expect(line).toMatch(/imgswarm\.pubkey=[A-Za-z0-9+/]{43}=/)
      expect(line).toContain('console=ttyS0,115200')
      // serve.boot_cmdline from the config file reaches the node's kernel.
      expect(line).toMatch(/ no_timer_check( |$)/)

      expect(l).toContain(`imgswarm: ${LOCAL_MAC}: no reimage requested, booting from the local disk`)
      expect(l).not.toContain('api/v1/boot/kernel')
      // `exit` handed the machine back to the BIOS, which went on to the next boot device.
      expect(l.indexOf('Booting from Hard Disk')).toBeGreaterThan(l.indexOf('booting from the local disk'))
      // The unknown MAC is in the inventory now, as discovered.
      const nodes = JSON.parse(await imgswarm(['node', 'list', '--json'])) as {
        nodes: { mac: string; state: string }[]
      }
      expect(nodes.nodes.find((n) => n.mac === LOCAL_MAC)?.state).toBe('discovered')

      // The install reports a verified finish (the tiny installer does not, so the test posts it as the client would).
      const done = await lan.server.exec('curl', [
        ...['-sf', '-H', 'content-type: application/json', '-d', JSON.stringify({ node: 'pxe01', step: 'done' })],
        `${URL}/api/v1/events`,
      ])
      expect(done.code, done.stderr).toBe(0)
      const again = await boot(REIMAGE_MAC, 'after', /Booting from Hard Disk/)
      expect(again).toContain(`imgswarm: ${REIMAGE_MAC}: no reimage requested, booting from the local disk`)
      expect(again).not.toContain('api/v1/boot/kernel')
    },
    3 * BOOT_MS,
  )

  it.runIf(UEFI)(
    'UEFI (OVMF): the same reimage script loads the installer through iPXE for UEFI',
    async () => {
      await writeFile(join(dir, 'uefi.csv'), `mac,ip,hostname,group\n${UEFI_MAC},,pxe02,lab\n`)
      await imgswarm(['node', 'import', join(dir, 'uefi.csv')])
      await imgswarm(['node', 'reimage', 'pxe02'])
      const vars = join(dir, 'uefi.vars.fd')
      await copyFile(OVMF_VARS, vars)
      const vm = await lan.startVm({ mac: UEFI_MAC, serialLog: join(dir, 'uefi.log'), uefi: { code: OVMF_CODE, vars } })
      vms.push(vm)
      try {
        await vm.waitFor(new RegExp(`${MARKER} cmdline: .*`), BOOT_MS)
      } finally {
        vm.child.kill('SIGKILL')
      }
      const u = plain(vm.log())
      expect(u).toContain(`imgswarm: ${UEFI_MAC}: reimage requested`)
      const line = new RegExp(`${MARKER} cmdline: (.*)`).exec(u)?.[1] ?? ''
      expect(line).toContain(`imgswarm.mac=${UEFI_MAC}`)
    },
    BOOT_MS + 30_000,
  )
})
