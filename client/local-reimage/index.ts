// `imgswarm node reimage --local`: reimage a running Linux node without PXE
// (docs/pxe.md#reimage-a-running-node). Both ways download the installer's
// kernel and initramfs from the server and check size and SHA-256 against
// GET /api/v1/boot/info before anything on the node changes.
//   kexec:     kexec -l into the installer, then systemctl kexec (or kexec -e).
//   next-boot: a one-time GRUB entry (files in /boot/imgswarm, custom.cfg,
//              grub-reboot); the node reboots into it only with reboot: true.
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, readFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { normalizeMac } from '../../common/cmdline.ts'
import { errors } from '../../common/errors.ts'
import { download, fetchBootInfo } from './fetch.ts'
import { checkGrubCfg, ENTRY_ID, writeEntry } from './grub.ts'

export { type BootInfo, fetchBootInfo } from './fetch.ts'
export { BEGIN, END, ENTRY_ID, entryBlock, withEntry } from './grub.ts'

export type LocalReimageMode = 'kexec' | 'next-boot'

export interface LocalReimageInit {
  /** The image server, e.g. http://10.0.0.1:8470. */
  server: string
  mode: LocalReimageMode
  /** The boot interface's MAC (default: the interface of the default route). */
  mac?: string
  /** The installed system to change (next-boot); default /. */
  root?: string
  /** kexec: stop after `kexec -l`. */
  loadOnly?: boolean
  /** next-boot: reboot once the entry is in place. */
  reboot?: boolean
  /** Where the kexec files go (default /run/imgswarm/boot). */
  workDir?: string
  signal?: AbortSignal
  /** One line per step, for the person watching. */
  say?: (line: string) => void
}

export interface LocalReimageResult {
  mode: LocalReimageMode
  mac: string
  kernel: string
  initramfs: string
  cmdline: string
  /** The commands run, in order. */
  ran: string[][]
}

function run(cmd: string, args: string[], ran: string[][]): Promise<void> {
  ran.push([cmd, ...args])
  return new Promise((res, rej) => {
    const c = spawn(cmd, args, { stdio: ['ignore', 'inherit', 'pipe'] })
    let err = ''
    c.stderr.on('data', (d: Buffer) => {
      err += d.toString()
    })
    c.on('error', (e) =>
      rej(
        (e as NodeJS.ErrnoException).code === 'ENOENT'
          ? errors.tool(
              cmd,
              'not found',
              cmd === 'kexec' ? 'kexec-tools' : cmd.startsWith('grub') ? 'grub-common' : cmd,
            )
          : e,
      ),
    )
    c.on('exit', (code, sig) =>
      code === 0 ? res() : rej(errors.tool(`${cmd} ${args.join(' ')}`, `${sig ?? `exit ${code}`}: ${err.trim()}`)),
    )
  })
}

function capture(cmd: string, args: string[]): Promise<string> {
  return new Promise((res, rej) => {
    const c = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    c.stdout.on('data', (d: Buffer) => {
      out += d.toString()
    })
    c.on('error', rej)
    c.on('exit', (code) => (code === 0 ? res(out) : rej(errors.tool(cmd, `exit ${code}`))))
  })
}

/** The MAC of the interface the default route goes through. */
export async function defaultMac(): Promise<string> {
  const routes = JSON.parse(await capture('ip', ['-j', 'route', 'show', 'default'])) as { dev?: string }[]
  const dev = routes.find((r) => r.dev)?.dev
  if (!dev || !/^[A-Za-z0-9_.:@-]{1,15}$/.test(dev)) {
    throw errors.localReimage('no default route, so no boot interface to name', 'pass --mac MAC of the boot NIC')
  }
  const mac = normalizeMac((await readFile(`/sys/class/net/${dev}/address`, 'utf8')).trim())
  if (!mac) throw errors.localReimage(`${dev} has no Ethernet MAC`, 'pass --mac MAC of the boot NIC')
  return mac
}

/** The command line with this node's MAC (the server's info may leave it out). */
function withMac(cmdline: string, mac: string): string {
  return /(^| )imgswarm\.mac=/.test(cmdline) ? cmdline : `${cmdline} imgswarm.mac=${mac}`
}

export async function localReimage(init: LocalReimageInit): Promise<LocalReimageResult> {
  const say = init.say ?? (() => {})
  const server = init.server.replace(/\/+$/, '')
  if (!/^https?:\/\/[^\s/]+/.test(server))
    throw errors.usage(`--server ${JSON.stringify(init.server)}: not an http(s) URL`)
  const mac = init.mac === undefined ? await defaultMac() : normalizeMac(init.mac)
  if (!mac) throw errors.usage(`--mac ${JSON.stringify(init.mac)}: not a MAC address`)
  const ran: string[][] = []
  const root = resolve(init.root ?? '/')
  const grubDir = join(root, 'boot/grub')
  // Before any download: a node whose GRUB cannot take a one-time entry is left as it was.
  if (init.mode === 'next-boot') await checkGrubCfg(grubDir)
  const info = await fetchBootInfo(server, mac, init.signal)
  const cmdline = withMac(info.cmdline, mac)
  const fetchBoth = async (dir: string) => {
    await mkdir(dir, { recursive: true, mode: 0o755 })
    const kernel = join(dir, 'vmlinuz')
    const initramfs = join(dir, 'initrd.img')
    say(`downloading the installer kernel (${info.kernel.size} bytes) from ${server}`)
    await download(`${server}/api/v1/boot/kernel`, kernel, info.kernel, 'kernel', init.signal)
    say(`downloading the installer initramfs (${info.initramfs.size} bytes)`)
    await download(`${server}/api/v1/boot/initramfs`, initramfs, info.initramfs, 'initramfs', init.signal)
    say('both match the size and SHA-256 the server announced')
    return { kernel, initramfs }
  }

  if (init.mode === 'kexec') {
    const f = await fetchBoth(init.workDir ?? '/run/imgswarm/boot')
    say(`kexec -l: loading the installer with: ${cmdline}`)
    await run('kexec', ['-l', f.kernel, `--initrd=${f.initramfs}`, `--command-line=${cmdline}`], ran)
    if (!init.loadOnly) {
      // systemd stops services and unmounts first; without it, straight into the loaded kernel.
      if (existsSync('/run/systemd/system')) await run('systemctl', ['kexec'], ran)
      else await run('kexec', ['-e'], ran)
    }
    return { mode: 'kexec', mac, ...f, cmdline, ran }
  }

  const f = await fetchBoth(join(root, 'boot/imgswarm'))
  // GRUB reads the files from the file system that holds /boot: on a separate /boot, without the /boot prefix.
  const [target, uuid] = (await capture('findmnt', ['-n', '-o', 'TARGET,UUID', '-T', join(root, 'boot')]))
    .trim()
    .split(/\s+/)
  if (!uuid) throw errors.localReimage(`cannot find the file system UUID of ${join(root, 'boot')}`)
  const prefix = target === join(root, 'boot') ? '' : '/boot'
  const file = await writeEntry(grubDir, {
    bootUuid: uuid,
    kernel: `${prefix}/imgswarm/vmlinuz`,
    initramfs: `${prefix}/imgswarm/initrd.img`,
    cmdline,
  })
  say(`wrote the one-time entry ${ENTRY_ID} to ${file}`)
  await run('grub-reboot', [`--boot-directory=${join(root, 'boot')}`, ENTRY_ID], ran)
  say(`grub-reboot: the next boot (only) runs the installer`)
  if (init.reboot) await run('systemctl', ['reboot'], ran)
  return { mode: 'next-boot', mac, ...f, cmdline, ran }
}
