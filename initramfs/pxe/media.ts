// `imgswarm boot iso` / `boot usb`: the installer on boot media, for sites
// without PXE. grub-mkrescue makes one hybrid image (BIOS and UEFI, CD and
// USB stick): GRUB with one menu entry that starts the installer with the
// server's URL on its command line.
import { spawn } from 'node:child_process'
import { copyFile, mkdir, mkdtemp, rename, rm, stat, writeFile } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { errors } from '../../common/errors.ts'
import { BootFiles, installerCmdline, safeArgs, safeUrl } from '../../seeder/boot/index.ts'

export interface MediaInit {
  /** STORE/boot (kernel, initramfs, build.json). */
  bootDir: string
  keysDir: string
  /** The image server the installer talks to. */
  server: string
  out: string
  /** Extra kernel parameters (e.g. imgswarm.post=poweroff). */
  extra?: string
  /** Seconds GRUB waits before it starts the installer (default 10). */
  timeoutSec?: number
  /** Scratch space (default: next to out). */
  tmpDir?: string
}

export interface MediaResult {
  file: string
  size: number
  cmdline: string
}

export function grubMenu(cmdline: string, timeoutSec: number): string {
  return [
    '# imgswarm boot media (imgswarm boot iso / usb). See docs/pxe.md#boot-media.',
    'serial --unit=0 --speed=115200',
    'terminal_input console serial',
    'terminal_output console serial',
    `set timeout=${timeoutSec}`,
    'set default=imgswarm',
    "menuentry 'imgswarm installer: reimage this machine' --id imgswarm {",
    `\tlinux /imgswarm/vmlinuz ${cmdline}`,
    '\tinitrd /imgswarm/initrd.img',
    '}',
    "menuentry 'Boot the next device (leave this machine as it is)' --id exit {",
    '\texit',
    '}',
    '',
  ].join('\n')
}

function run(cmd: string, args: string[], pkg: string): Promise<void> {
  return new Promise((res, rej) => {
    const c = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] })
    let err = ''
    c.stderr.on('data', (d: Buffer) => {
      err += d.toString()
    })
    c.on('error', (e) => rej((e as NodeJS.ErrnoException).code === 'ENOENT' ? errors.tool(cmd, 'not found', pkg) : e))
    c.on('exit', (code) =>
      code === 0 ? res() : rej(errors.tool(cmd, `exit ${code}: ${err.trim().slice(-2000)}`, pkg)),
    )
  })
}

export async function writeBootMedia(m: MediaInit): Promise<MediaResult> {
  const server = m.server.replace(/\/+$/, '')
  if (!safeUrl(server) || !/^https?:\/\/[^/]/.test(server)) {
    throw errors.pxeOption('--server', `${JSON.stringify(m.server)} is not a plain http(s) URL`)
  }
  const extra = (m.extra ?? '').trim()
  if (!safeArgs(extra))
    throw errors.pxeOption('--append', 'printable kernel parameters only, without quotes, $ or backslashes')
  const timeout = m.timeoutSec ?? 10
  if (!Number.isInteger(timeout) || timeout < 0 || timeout > 3600)
    throw errors.pxeOption('--timeout', 'whole seconds, 0 to 3600')
  const files = new BootFiles(m.bootDir)
  for (const f of ['kernel', 'initramfs'] as const) {
    if (!(await files.info(f))) throw errors.bootFilesMissing(files.path(f))
  }
  const cmdline = await installerCmdline({ publicUrl: server, build: await files.build(), keysDir: m.keysDir, extra })
  const out = resolve(m.out)
  await mkdir(dirname(out), { recursive: true })
  const scratch = await mkdtemp(join(m.tmpDir ?? dirname(out), '.imgswarm-media-'))
  try {
    const tree = join(scratch, 'tree')
    await mkdir(join(tree, 'imgswarm'), { recursive: true })
    await mkdir(join(tree, 'boot/grub'), { recursive: true })
    await copyFile(files.path('kernel'), join(tree, 'imgswarm/vmlinuz'))
    await copyFile(files.path('initramfs'), join(tree, 'imgswarm/initrd.img'))
    await writeFile(join(tree, 'boot/grub/grub.cfg'), grubMenu(cmdline, timeout))
    const tmp = join(scratch, 'out.iso')
    // BIOS (i386-pc) and UEFI (x86_64-efi) in one hybrid image: a CD, or dd to a USB stick.
    await run(
      'grub-mkrescue',
      ['-o', tmp, tree, '--', '-volid', 'IMGSWARM'],
      'grub-common xorriso mtools grub-pc-bin grub-efi-amd64-bin',
    )
    await rename(tmp, out)
    return { file: out, size: (await stat(out)).size, cmdline }
  } finally {
    await rm(scratch, { recursive: true, force: true })
  }
}
