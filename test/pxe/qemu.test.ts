// A real PXE boot: QEMU guests (SeaBIOS with QEMU's iPXE ROM, TCG) on a
// bridge in a network namespace get DHCP from the dnsmasq that `boot pxe`
// configured, fetch the entry script and their per-MAC script from the boot
// routes, and, when a reimage is asked for, the kernel and initramfs over
// HTTP. The installer is the tiny stand-in of tiny-boot.ts.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cleanupStale, fleetUnsupported } from '../../fleetsim/index.ts'
import { loadOrCreateSigningKey } from '../../seeder/store/keys.ts'
import { createPxeLan, type PxeLan, SERVER_IP, type Spawned } from './lan.ts'
import { MARKER, tinyBootUnsupported, writeTinyInstaller } from './tiny-boot.ts'

const why = fleetUnsupported() ?? tinyBootUnsupported()
const URL = `http://${SERVER_IP}:8470`
const REIMAGE_MAC = '52:54:00:e5:00:01'
const LOCAL_MAC = '52:54:00:e5:00:02'
// TCG on a shared 2-core machine: generous, and only an upper bound.
const BOOT_MS = 240_000

/** The serial console without terminal escapes. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: removing the ESC sequences is the point
const plain = (s: string) => s.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/\r/g, '')

if (why) it.skip(`QEMU PXE boot: ${why}`, () => {})

describe.runIf(!why)('QEMU PXE boot through dnsmasq and the boot routes', () => {
  let lan: PxeLan
  let dir: string
  let server: Spawned
  const vms: Spawned[] = []
  beforeAll(async () => {
    await cleanupStale()
    dir = await mkdtemp(join(process.env.IMGSWARM_TEST_TMP ?? tmpdir(), 'imgswarm-pxe-qemu-'))
    const store = join(dir, 'store')
    await loadOrCreateSigningKey(join(store, 'keys'))
    await writeTinyInstaller(join(store, 'boot'))
    await writeFile(join(dir, 'reimage'), `${REIMAGE_MAC}\n`)
    await mkdir(join(dir, 'pxe'))
    lan = await createPxeLan({ nodes: 1 })
    // Stand-in server while the fleet database is not in this checkout (boot-server.ts).
    server = lan.spawnOnServer(process.execPath, [
      join(import.meta.dirname, 'boot-server.ts'),
      store,
      URL,
      join(dir, 'reimage'),
    ])
    await server.waitFor(/boot server listening/, 30_000)
    await lan.writeConfig({ mode: 'full', server: URL, out: join(dir, 'pxe'), range: '10.99.0.150,10.99.0.199,1h' })
    await lan.startDnsmasq(join(dir, 'pxe'))
  }, 120_000)
  afterAll(async () => {
    for (const v of vms) v.child.kill('SIGKILL')
    await lan?.destroy()
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  it(
    'a node with a reimage requested loads the installer over HTTP with its command line; another boots its local disk',
    async () => {
      const [re, local] = await Promise.all([
        lan.startVm({ mac: REIMAGE_MAC, serialLog: join(dir, 'reimage.log') }),
        lan.startVm({ mac: LOCAL_MAC, serialLog: join(dir, 'local.log') }),
      ])
      vms.push(re, local)
      const localDone = local.waitFor(/Booting from Hard Disk/, BOOT_MS).finally(() => local.child.kill('SIGKILL'))
      await re.waitFor(new RegExp(`${MARKER} cmdline: .*`), BOOT_MS)
      await localDone

      const r = plain(re.log())
      // iPXE fetched the entry script, its own script, and the installer, all over HTTP.
      expect(r).toContain(`Filename: ${URL}/api/v1/boot/ipxe`)
      expect(r).toContain(`imgswarm: ${REIMAGE_MAC}: reimage requested`)
      expect(r).toMatch(/api\/v1\/boot\/kernel\.\.\. ok/)
      expect(r).toMatch(/api\/v1\/boot\/initramfs\.\.\. ok/)
      const line = new RegExp(`${MARKER} cmdline: (.*)`).exec(r)?.[1] ?? ''
      expect(line).toContain(`imgswarm.server=${URL}`)
      expect(line).toContain(`imgswarm.mac=${REIMAGE_MAC}`)
      expect(line).toMatch(/imgswarm\.pubkey=[A-Za-z0-9+/]{43}=/)
      expect(line).toContain('console=ttyS0,115200')

      const l = plain(local.log())
      expect(l).toContain(`imgswarm: ${LOCAL_MAC}: no reimage requested, booting from the local disk`)
      expect(l).not.toContain('api/v1/boot/kernel')
      // `exit` handed the machine back to the BIOS, which went on to the next boot device.
      expect(l.indexOf('Booting from Hard Disk')).toBeGreaterThan(l.indexOf('booting from the local disk'))

      const srv = server.log()
      expect(srv).toMatch(new RegExp(`"mac":"${REIMAGE_MAC}".*"action":"reimage"`))
      expect(srv).toMatch(new RegExp(`"mac":"${LOCAL_MAC}".*"action":"local"`))
      expect(await readFile(join(dir, 'reimage.log'), 'utf8')).toContain(MARKER)
    },
    BOOT_MS + 60_000,
  )
})
