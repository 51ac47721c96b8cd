// QEMU for the boot tests: a KVM probe (KVM guests hang on these machines,
// ../shared/NOTES.md, so KVM is used only when a guest really boots under
// it), and a VM that boots from its own disk with no network.
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { setTimeout as sleep } from 'node:timers/promises'

const live = new Set<ChildProcess>()

/** Kills every QEMU this file started that still runs (afterAll, and on failure). */
export function killAll(): void {
  for (const c of live) c.kill('SIGKILL')
}

function qemu(args: string[]): { child: ChildProcess; exited: Promise<number | null> } {
  const child = spawn('qemu-system-x86_64', args, { stdio: ['ignore', 'pipe', 'pipe'] })
  live.add(child)
  let err = ''
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString()
  })
  const exited = new Promise<number | null>((res) => {
    child.on('error', () => res(-1))
    child.on('exit', (code) => {
      live.delete(child)
      if (code !== 0 && err) process.stderr.write(`qemu: ${err.slice(-500)}\n`)
      res(code)
    })
  })
  return { child, exited }
}

async function waitExit(p: { child: ChildProcess; exited: Promise<number | null> }, ms: number): Promise<boolean> {
  const t = sleep(ms).then(() => 'timeout' as const)
  const r = await Promise.race([p.exited.then(() => 'exit' as const), t])
  if (r === 'timeout') {
    p.child.kill('SIGKILL')
    await p.exited
    return false
  }
  return true
}

/**
 * ['-accel', 'kvm'] when a KVM guest boots the kernel to its panic (no root)
 * within 20 s, else ['-accel', 'tcg']. IMGSWARM_TEST_KVM=0 skips the probe.
 */
export async function probeAccel(kernel: string, log: string): Promise<string[]> {
  if (process.env.IMGSWARM_TEST_KVM === '0' || !existsSync('/dev/kvm')) return ['-accel', 'tcg']
  const p = qemu([
    ...['-accel', 'kvm', '-m', '128', '-display', 'none', '-monitor', 'none', '-no-reboot', '-nic', 'none'],
    ...['-serial', `file:${log}`, '-kernel', kernel, '-append', 'console=ttyS0 panic=-1 loglevel=4'],
  ])
  const exited = await waitExit(p, 20_000)
  const out = await readFile(log, 'utf8').catch(() => '')
  return exited && /Kernel panic/.test(out) ? ['-accel', 'kvm'] : ['-accel', 'tcg']
}

/** Boots a disk on its own (BIOS, no network); resolves with the serial output once the guest powers off or after ms. */
export async function bootDisk(o: {
  disk: string
  log: string
  accel: string[]
  ms: number
  /** OVMF firmware: read-only code and a writable copy of the variables. */
  uefi?: { code: string; vars: string }
  /** Boots so far that hit TIMER_PANIC. */
  tries?: number
}): Promise<string> {
  const fw = o.uefi
    ? [
        '-drive',
        `if=pflash,format=raw,readonly=on,file=${o.uefi.code}`,
        '-drive',
        `if=pflash,format=raw,file=${o.uefi.vars}`,
      ]
    : []
  const p = qemu([
    ...o.accel,
    ...fw,
    // GRUB for UEFI runs out of memory loading the kernel with 256 MB under OVMF.
    ...[
      '-m',
      o.uefi ? '768' : '256',
      '-smp',
      '1',
      '-display',
      'none',
      '-monitor',
      'none',
      '-no-reboot',
      '-nic',
      'none',
    ],
    ...['-serial', `file:${o.log}`, '-drive', `file=${o.disk},format=raw,if=virtio`],
  ])
  await waitExit(p, o.ms)
  const out = await readFile(o.log, 'utf8').catch(() => '')
  // The installed system's kernel runs the IO-APIC timer check, which a loaded TCG host can fail
  // (an emulator timing artefact, before the root file system is touched): boot it again, twice at most.
  if (TIMER_PANIC.test(out) && (o.tries ?? 0) < 2) {
    process.stderr.write(`bootDisk: ${o.disk}: the emulated IO-APIC timer check failed; booting again\n`)
    return bootDisk({ ...o, tries: (o.tries ?? 0) + 1 })
  }
  return out
}

/** The kernel's panic when the emulated timer misses its check (boot with no_timer_check to skip it). */
export const TIMER_PANIC = /IO-APIC \+ timer doesn't work/
