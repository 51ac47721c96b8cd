import { existsSync } from 'node:fs'
import { copyFile, readFile, truncate, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { buildBootImage } from '../../initramfs/index.ts'
import { packVersion, Store } from '../../seeder/index.ts'
import { loadOrCreateSigningKey, PUBLIC_KEY_FILE } from '../../seeder/store/keys.ts'
import { BIN, createPxeLan, type PxeLan, SERVER_IP, type Spawned } from '../pxe/lan.ts'
import type { StoredEvent } from '../support/events.ts'
import { isRoot, tempDir } from '../support/tmp.ts'
import { haveTool } from '../support/tools.ts'
import { buildTestImage, MARKER } from './image.ts'
import { bootDisk, killAll, probeAccel } from './vm.ts'

const REPO = join(import.meta.dirname, '../..')
/** Shared between runs: the Debian packages and their unpacked tree (docs/boot.md, "cache"). */
const CACHE = process.env.IMGSWARM_TEST_BOOT_CACHE ?? '/var/tmp/imgswarm-test-boot-cache'
const PORT = 8470
const URL = `http://${SERVER_IP}:${PORT}`
const OVMF_CODE = '/usr/share/OVMF/OVMF_CODE_4M.fd'
const OVMF_VARS = '/usr/share/OVMF/OVMF_VARS_4M.fd'
const UEFI = existsSync(OVMF_CODE) && existsSync(OVMF_VARS) && process.env.IMGSWARM_TEST_UEFI !== '0'
/** Three BIOS VMs, and a fourth with UEFI firmware (OVMF) and a GPT layout with an ESP when OVMF is installed. */
const VMS = [1, 2, 3, ...(UEFI ? [4] : [])].map((i) => ({
  i,
  mac: `52:54:00:1e:00:0${i}`,
  hostname: `vm${i}`,
  ip: `10.99.0.${20 + i}`,
  uefi: i === 4,
}))
const MiB = 1024 * 1024
/** The server's per-MAC iPXE script (seeder/boot/script.ts): local disk, or the installer. */
const LOCAL = /no reimage requested, booting from the local disk\nexit\n$/
const REIMAGE = /reimage requested[\s\S]*\nkernel --name kernel http:\/\/\S+\/api\/v1\/boot\/kernel /

/** How the BIOS VMs boot: PXE (the real path). IMGSWARM_TEST_BOOT=direct (-kernel/-initrd) is for debugging only. */
const MODE = process.env.IMGSWARM_TEST_BOOT === 'direct' ? 'direct' : 'pxe'
const ready =
  isRoot &&
  ['qemu-system-x86_64', 'apt-get', 'dpkg', 'ip', 'curl', 'dnsmasq'].every(haveTool) &&
  existsSync('/usr/lib/ipxe/qemu/pxe-virtio.rom')
/** IMGSWARM_TEST_WATCH=1: every VM's serial console on stderr, line by line, prefixed with its name. */
const WATCH = process.env.IMGSWARM_TEST_WATCH === '1'
// biome-ignore lint/suspicious/noControlCharactersInRegex: removing terminal escapes is the point
const plain = (s: string) => s.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/[\r\x08]/g, '\n')

let lan: PxeLan | undefined
afterAll(async () => {
  killAll()
  await lan?.destroy()
})

const LAYOUT = `table = "msdos"
[[partition]]
label = "root"
size = "grow"
fs = "ext4"
mount = "/"
`
const LAYOUT_UEFI = `table = "gpt"
[[partition]]
label = "esp"
size = "64MiB"
fs = "vfat"
mount = "/boot/efi"
flags = ["esp"]
[[partition]]
label = "root"
size = "grow"
fs = "ext4"
mount = "/"
`

describe.runIf(ready)('QEMU end-to-end reimage', () => {
  it(
    'the VMs install from the swarm, report verified installs, and boot their own disks',
    async () => {
      const dir = await tempDir('imgswarm-e2e-')
      const store = new Store(join(dir, 'store'))
      await loadOrCreateSigningKey(store.keysDir)
      const pubkeyPem = await readFile(join(store.keysDir, PUBLIC_KEY_FILE), 'utf8')

      // Host side: the boot image, the test image, the plans.
      const boot = await buildBootImage({ outDir: join(store.root, 'boot'), cacheDir: CACHE, pubkeyPem })
      expect(boot.pubkey).not.toBeNull()
      const tree = join(dir, 'tree')
      await buildTestImage(tree, CACHE)
      await store.import('image', tree, 'tiny@1')
      await packVersion(store, 'image', 'tiny@1', {
        compression: 'none',
        pieceLength: 128 * 1024,
        announce: ['http://127.0.0.1:1/announce'],
        webseeds: ['http://127.0.0.1:1/webseed/'],
      })
      await writeFile(join(store.root, 'layout.toml'), LAYOUT)
      await writeFile(join(store.root, 'layout-uefi.toml'), LAYOUT_UEFI)
      // The cluster config: the group's image, layout and post-action, and each VM by MAC with its
      // host name. The VMs join the inventory by `node import` and are reimaged by `node reimage
      // --group`, as in the README.
      const hosts = VMS.map(
        (v) =>
          `[[host]]\nhostname = "${v.hostname}"\nmac = "${v.mac}"\ngroups = ["e2e"]\n${v.uefi ? 'layout = "layout-uefi.toml"\n' : ''}`,
      )
      await writeFile(
        join(store.root, 'cluster.toml'),
        `[global]\nimage = "tiny"\npost = "poweroff"\nlayout = "layout.toml"\n\n[[group]]\nname = "e2e"\n\n${hosts.join('\n')}`,
      )
      // A slow server uplink, so the VMs must get most pieces from each other.
      await writeFile(
        join(dir, 'imgswarm.toml'),
        `[serve]\nupload_limit = ${512 * 1024}\n# A loaded TCG host can fail the kernel's IO-APIC timer check and panic.\nboot_cmdline = "no_timer_check"\n`,
      )

      const accel = await probeAccel(join(store.root, 'boot/kernel'), join(dir, 'kvm-probe.log'))
      if (accel.includes('kvm')) process.env.IMGSWARM_TEST_KVM = '1'
      lan = await createPxeLan({ nodes: 1 })
      const theLan = lan
      const serve: Spawned = lan.spawnOnServer(
        process.execPath,
        [join(REPO, 'cli/main.ts'), 'serve', '--store', store.root, '--config', join(dir, 'imgswarm.toml')].concat([
          ...['--host', '0.0.0.0', '--port', String(PORT), '--public-url', URL],
        ]),
        { IMGSWARM_LOG_LEVEL: 'warn' },
      )
      const imgswarm = async (args: string[]) => {
        const r = await theLan.server.exec(BIN, [...args, '--store', store.root, '--server', URL], {
          env: { IMGSWARM_FROM_SOURCE: '1', IMGSWARM_CONFIG: 'none' },
        })
        if (r.code !== 0) throw new Error(`imgswarm ${args.join(' ')}: ${r.stderr}`)
        return r.stdout
      }
      const script = async (mac: string) => {
        const r = await theLan.server.exec('curl', ['-s', `${URL}/api/v1/boot/ipxe?mac=${mac}`])
        return r.stdout
      }
      const token = async () => (await readFile(join(store.keysDir, 'admin.token'), 'utf8')).trim()
      const api = async (path: string): Promise<{ status: number; body: unknown }> => {
        const r = await theLan.server.exec('curl', [
          ...['-s', '-w', '\\n%{http_code}', '-H', `authorization: Bearer ${await token().catch(() => '')}`],
          `${URL}${path}`,
        ])
        const lines = r.stdout.trimEnd().split('\n')
        const status = Number(lines.pop())
        const text = lines.join('\n')
        let body: unknown = text
        try {
          body = JSON.parse(text)
        } catch {}
        return { status, body }
      }
      for (let t = 0; ; t++) {
        if ((await api('/api/v1/health')).status === 200) break
        if (t > 600) throw new Error(`serve did not start:\n${serve.log()}`)
        await new Promise((r) => setTimeout(r, 100))
      }

      // The operator's steps: import the nodes, ask for a reimage of their group. Until then the
      // server's per-MAC iPXE script says "local disk"; after it, "reimage".
      await writeFile(
        join(dir, 'nodes.csv'),
        `mac,ip,hostname,group\n${VMS.map((v) => `${v.mac},,${v.hostname},e2e`).join('\n')}\n`,
      )
      await imgswarm(['node', 'import', join(dir, 'nodes.csv')])
      for (const v of VMS) expect(await script(v.mac), `${v.hostname} before the request`).toMatch(LOCAL)
      await imgswarm(['node', 'reimage', '--group', 'e2e'])
      for (const v of VMS) expect(await script(v.mac), `${v.hostname} after the request`).toMatch(REIMAGE)

      // PXE: SeaBIOS, QEMU's iPXE ROM, dnsmasq configured by `boot pxe`, the server's per-MAC script.
      const mode = MODE
      process.stderr.write(`e2e: the BIOS VMs boot by ${mode}\n`)
      if (mode === 'pxe') {
        const out = join(dir, 'pxe')
        await theLan.writeConfig({ mode: 'full', server: URL, out, range: '10.99.0.150,10.99.0.199,1h' })
        await theLan.startDnsmasq(out)
      }
      const vms = await Promise.all(
        VMS.map(async (v) => {
          const disk = join(dir, `${v.hostname}.img`)
          await writeFile(disk, '')
          await truncate(disk, 320 * MiB)
          const serial = join(dir, `${v.hostname}.serial.log`)
          // Direct boot: static addresses (imgswarm.ip); PXE: DHCP and the server's command line.
          const append = [
            'console=ttyS0,115200',
            'no_timer_check',
            `imgswarm.server=${URL}`,
            `imgswarm.ip=${v.ip}/24,${SERVER_IP}`,
            'imgswarm.post=poweroff',
          ].join(' ')
          const kernel = ['-kernel', join(store.root, 'boot/kernel'), '-initrd', join(store.root, 'boot/initramfs')]
          // The UEFI VM boots the installer directly in both modes (its PXE path is not tested here).
          const vars = join(dir, `${v.hostname}.vars.fd`)
          if (v.uefi) await copyFile(OVMF_VARS, vars)
          const vm = await theLan.startVm({
            mac: v.mac,
            serialLog: serial,
            memMb: 768,
            ...(v.uefi ? { uefi: { code: OVMF_CODE, vars } } : {}),
            extra: [
              ...['-smp', '1', ...(mode === 'pxe' && !v.uefi ? [] : [...kernel, '-append', append])],
              ...['-drive', `file=${disk},format=raw,if=virtio`],
            ],
          })
          if (WATCH) {
            let rest = ''
            vm.child.stdout?.on('data', (d: Buffer) => {
              const lines = plain(rest + d.toString()).split('\n')
              rest = lines.pop() ?? ''
              for (const l of lines) if (l.trim() !== '') process.stderr.write(`[${v.hostname}] ${l}\n`)
            })
          }
          return { ...v, disk, serial, vm }
        }),
      )
      // Each VM powers off by itself when its install is done (post = poweroff).
      const exits = await Promise.all(
        vms.map(
          (v) =>
            new Promise<number | null>((res) => {
              const t = setTimeout(() => v.vm.child.kill('SIGKILL'), 15 * 60_000)
              v.vm.child.on('exit', (code) => {
                clearTimeout(t)
                res(code)
              })
              if (v.vm.child.exitCode !== null) res(v.vm.child.exitCode)
            }),
        ),
      )
      const serials = await Promise.all(vms.map((v) => readFile(v.serial, 'utf8').catch(() => '')))
      for (const [k, v] of vms.entries()) {
        const out = serials[k] ?? ''
        // The client prints [done] only after verification; then it powers the VM off itself.
        if (!/\[done\] tiny@1 installed/.test(out)) {
          throw new Error(
            `${v.hostname} did not finish its install (qemu exit ${exits[k]}); serial:\n${out.slice(-6000)}`,
          )
        }
      }

      // The server recorded three verified installs, and the VMs served each other pieces.
      const events = ((await api('/api/v1/events?limit=10000')).body as { events: StoredEvent[] }).events
      let up = 0
      for (const v of vms) {
        const mine = events.filter((e) => e.node === v.hostname || e.node === v.mac)
        expect(mine.map((e) => e.step)).toContain('done')
        expect(mine.some((e) => e.step === 'failed')).toBe(false)
        const vmUp = Math.max(0, ...mine.map((e) => e.bytesUp ?? 0))
        const vmDown = Math.max(0, ...mine.map((e) => e.bytesDown ?? 0))
        process.stderr.write(`e2e: ${v.hostname}: ${vmDown} bytes down, ${vmUp} bytes up to other VMs\n`)
        up += vmUp
      }
      // A third of the image at least went from VM to VM (the server's upload is capped).
      expect(up).toBeGreaterThan(4 * 1000 * 1000)
      // The fleet database's install records: one verified install per VM.
      const installs = await api('/api/v1/installs?limit=100')
      expect(installs.status).toBe(200)
      const rows = (installs.body as { installs: { node: string; result: string }[] }).installs
      for (const v of vms) {
        const mine = rows.filter((r) => r.node === v.hostname || r.node === v.mac)
        expect(
          mine.map((r) => r.result),
          `${v.hostname}'s install records`,
        ).toContain('verified')
      }
      // The verified installs answered the request: every VM's next network boot is its local disk.
      for (const v of vms) expect(await script(v.mac), `${v.hostname} after its install`).toMatch(LOCAL)
      serve.child.kill('SIGTERM')

      // Each disk boots on its own and says its own name.
      const booted = await Promise.all(
        vms.map((v) =>
          bootDisk({
            disk: v.disk,
            log: join(dir, `${v.hostname}.disk-boot.log`),
            accel,
            ms: 5 * 60_000,
            ...(v.uefi ? { uefi: { code: OVMF_CODE, vars: join(dir, `${v.hostname}.vars.fd`) } } : {}),
          }),
        ),
      )
      for (const [k, v] of vms.entries()) {
        expect(booted[k], `${v.hostname} booting its disk`).toContain(`${MARKER} hostname=${v.hostname}`)
      }
    },
    25 * 60_000,
  )
})
