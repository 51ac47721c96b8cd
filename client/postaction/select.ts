// What each post-action runs on this system. The initramfs has busybox and
// no systemd; a running system told to reimage has systemd: pick by what
// exists, with the kernel's sysrq trigger as the last resort.
import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { errors } from '../../common/errors.ts'
import { firstExecutable } from '../../common/exec.ts'
import { findKernels } from '../bootloader/index.ts'
import { readTargetFile, resolveInTarget } from '../identity/index.ts'

/** One thing to do: run a program, or write to /proc/sysrq-trigger. */
export type Step = { argv: string[] } | { sysrq: string }

export interface Selected {
  /** Done first (kexec: load the kernel). */
  prepare: Step[]
  /** What ends this system; later ones are fallbacks when an earlier one fails. */
  execute: Step[]
}

const BIN_DIRS = ['usr/local/sbin', 'usr/local/bin', 'usr/sbin', 'usr/bin', 'sbin', 'bin']

/** A program in the running system (under `root`), as a host path. */
export async function findTool(root: string, tool: string): Promise<string | undefined> {
  return firstExecutable(
    BIN_DIRS.map((d) => join(root, d)),
    tool,
  )
}

/** reboot and poweroff: systemctl when systemd runs, else the busybox (or sysvinit) command, else sysrq. */
export async function selectPower(root: string, action: 'reboot' | 'poweroff'): Promise<Selected> {
  const execute: Step[] = []
  const systemd = await stat(join(root, 'run/systemd/system')).then(
    (s) => s.isDirectory(),
    () => false,
  )
  const systemctl = await findTool(root, 'systemctl')
  if (systemd && systemctl !== undefined) execute.push({ argv: [systemctl, action] })
  const direct = await findTool(root, action)
  const busybox = await findTool(root, 'busybox')
  // -f: no init to ask (or it is not listening): the kernel does it now.
  if (direct !== undefined) execute.push({ argv: [direct, '-f'] })
  else if (busybox !== undefined) execute.push({ argv: [busybox, action, '-f'] })
  // s: sync, u: remount read-only, then b: reboot or o: power off.
  execute.push({ sysrq: `su${action === 'reboot' ? 'b' : 'o'}` })
  return { prepare: [], execute }
}

export interface KexecInit {
  /** root=UUID for the new kernel; default the target's fstab entry for /. */
  rootUuid?: string | undefined
}

/** kexec into the installed system: its newest kernel and initrd, root=UUID, this boot's console= settings. */
export async function selectKexec(root: string, target: string | null, init: KexecInit): Promise<Selected> {
  const fail = (detail: string, hint?: string) => errors.postAction('kexec', detail, hint)
  if (target === null)
    throw fail('needs the installed tree mounted', 'run the post-action before unmounting the target')
  const kexec = await findTool(root, 'kexec')
  if (kexec === undefined) throw fail('kexec is missing on this system', 'install it: apt-get install kexec-tools')
  const kernel = (await findKernels(target))[0]
  if (kernel === undefined) throw fail('the installed system has no kernel (/boot/vmlinuz-VERSION)')
  const uuid = init.rootUuid ?? rootUuidFromFstab(await readTargetFile(target, '/etc/fstab'))
  if (uuid === undefined)
    throw fail("cannot tell the installed system's root file system: /etc/fstab has no UUID= entry for /")
  const cmdline = [`root=UUID=${uuid}`, 'ro', ...(await consoleArgs(root))].join(' ')
  const load = [kexec, '-l', await resolveInTarget(target, kernel.kernel)]
  if (kernel.initrd !== undefined) load.push(`--initrd=${await resolveInTarget(target, kernel.initrd)}`)
  load.push(`--command-line=${cmdline}`)
  return { prepare: [{ argv: load }], execute: [{ argv: [kexec, '-e'] }] }
}

export function rootUuidFromFstab(text: string | undefined): string | undefined {
  for (const line of (text ?? '').split('\n')) {
    const [spec, mount] = line.replace(/#.*/, '').trim().split(/\s+/)
    if (mount === '/' && spec?.startsWith('UUID=')) return spec.slice(5)
  }
  return undefined
}

/** console= parameters of this boot, so the installed system talks on the same console. */
async function consoleArgs(root: string): Promise<string[]> {
  const cmdline = await readFile(join(root, 'proc/cmdline'), 'utf8').catch(() => '')
  return cmdline
    .trim()
    .split(/\s+/)
    .filter((a) => /^console=[\x21-\x7e]+$/.test(a))
}
