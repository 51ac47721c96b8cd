// `imgswarm boot iso` / `boot usb` through the real launcher, and the images
// booted in QEMU (TCG): the ISO as a CD with SeaBIOS, the USB image as a disk
// with OVMF (UEFI); both reach the (tiny stand-in) installer with the
// server's URL on its command line.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { copyFile, mkdtemp, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadOrCreateSigningKey } from '../../seeder/store/keys.ts'
import { cli } from '../support/cli.ts'
import { accel } from './lan.ts'
import { MARKER, tinyBootUnsupported, writeTinyInstaller } from './tiny-boot.ts'

const missing = ['grub-mkrescue', 'xorriso', 'mformat'].filter(
  (t) => spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0,
)
const why = tinyBootUnsupported() ?? (missing.length > 0 ? `${missing.join(', ')} not installed` : undefined)
const OVMF_CODE = '/usr/share/OVMF/OVMF_CODE_4M.fd'
const OVMF_VARS = '/usr/share/OVMF/OVMF_VARS_4M.fd'
const SERVER = 'http://10.0.0.1:8470'
const BOOT_MS = 240_000

/** Boots QEMU until the installer's marker line; returns the serial console. */
function bootUntilMarker(args: string[], children: ChildProcess[]): Promise<string> {
  return new Promise((res, rej) => {
    const c = spawn(
      'qemu-system-x86_64',
      [
        ...['-machine', 'pc,graphics=off', ...accel(), '-m', '256', '-display', 'none', '-monitor', 'none'],
        ...['-serial', 'stdio', '-no-reboot', '-net', 'none', ...args],
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    )
    children.push(c)
    let out = ''
    const t = setTimeout(() => {
      c.kill('SIGKILL')
      rej(new Error(`no marker within ${BOOT_MS} ms:\n${out.slice(-3000)}`))
    }, BOOT_MS)
    const onData = (d: Buffer) => {
      out += d.toString()
      if (new RegExp(`${MARKER} cmdline: [^\\n]*\\n`).test(out)) {
        clearTimeout(t)
        c.kill('SIGKILL')
        res(out)
      }
    }
    c.stdout.on('data', onData)
    c.stderr.on('data', onData)
    c.on('exit', () => {
      clearTimeout(t)
      // The installer powers off right after its marker line.
      if (new RegExp(MARKER).test(out)) res(out)
      else rej(new Error(`qemu exited before the marker:\n${out.slice(-3000)}`))
    })
  })
}

if (why) it.skip(`boot media: ${why}`, () => {})

describe.runIf(!why)('imgswarm boot iso / usb', () => {
  let dir: string
  let store: string
  const children: ChildProcess[] = []
  beforeAll(async () => {
    dir = await mkdtemp(join(process.env.IMGSWARM_TEST_TMP ?? tmpdir(), 'imgswarm-media-'))
    store = join(dir, 'store')
    await loadOrCreateSigningKey(join(store, 'keys'))
  })
  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL')
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  it('without a boot build: IMGSWARM_ERR_BOOT_FILES, which says to run boot build', () => {
    const r = cli(['boot', 'iso', '--store', store, '--server', SERVER])
    expect(r.status).toBe(1)
    expect(r.stderr).toContain('IMGSWARM_ERR_BOOT_FILES')
    expect(r.stderr).toContain('imgswarm boot build')
  })

  it('refuses parameters iPXE or GRUB would misread', () => {
    const r = cli(['boot', 'iso', '--store', store, '--server', SERVER, '--append', 'a="b"'])
    expect(r.status).toBe(2)
    expect(r.stderr).toContain('IMGSWARM_ERR_PXE_OPTION')
  })

  it(
    'the ISO boots as a CD (BIOS) into the installer with the server and the extra parameters',
    async () => {
      await writeTinyInstaller(join(store, 'boot'))
      const iso = join(dir, 'imgswarm.iso')
      // no_timer_check: a loaded TCG host can fail the kernel's IO-APIC timer check and panic.
      // It comes from serve.boot_cmdline, as on the network boot's command line; --append follows it.
      const config = join(dir, 'imgswarm.toml')
      await writeFile(config, '[serve]\nboot_cmdline = "no_timer_check"\n')
      const r = cli([
        'boot',
        'iso',
        '--store',
        store,
        '--server',
        SERVER,
        '--config',
        config,
        '--append',
        'imgswarm.post=poweroff',
        '--timeout',
        '0',
        '--out',
        iso,
        '--json',
      ])
      expect(r.status, r.stderr).toBe(0)
      const res = JSON.parse(r.stdout)
      expect(res.file).toBe(iso)
      expect((await stat(iso)).size).toBe(res.size)
      const out = await bootUntilMarker(['-cdrom', iso, '-boot', 'd'], children)
      const line = new RegExp(`${MARKER} cmdline: (.*)`).exec(out)?.[1] ?? ''
      expect(line).toContain(`imgswarm.server=${SERVER}`)
      expect(line).toMatch(/imgswarm\.pubkey=[A-Za-z0-9+/]{43}=/)
      expect(line).toMatch(/ no_timer_check imgswarm\.post=poweroff( |$)/)
    },
    BOOT_MS + 60_000,
  )

  it.runIf(existsSync(OVMF_CODE) && existsSync(OVMF_VARS))(
    'the USB image boots as a disk under UEFI (OVMF) into the installer',
    async () => {
      const img = join(dir, 'usb.img')
      const r = cli([
        'boot',
        'usb',
        '--store',
        store,
        '--server',
        SERVER,
        '--timeout',
        '0',
        '--out',
        img,
        '--append',
        'no_timer_check',
      ])
      expect(r.status, r.stderr).toBe(0)
      const vars = join(dir, 'vars.fd')
      await copyFile(OVMF_VARS, vars)
      const out = await bootUntilMarker(
        [
          ...[
            '-drive',
            `if=pflash,format=raw,readonly=on,file=${OVMF_CODE}`,
            '-drive',
            `if=pflash,format=raw,file=${vars}`,
          ],
          ...['-drive', `file=${img},format=raw,if=virtio,snapshot=on`],
        ],
        children,
      )
      expect(new RegExp(`${MARKER} cmdline: (.*)`).exec(out)?.[1]).toContain(`imgswarm.server=${SERVER}`)
    },
    BOOT_MS + 60_000,
  )
})
