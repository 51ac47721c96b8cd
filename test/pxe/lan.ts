// A provisioning LAN for PXE tests, on the fleet harness: a server host
// (10.99.0.1 on eth0) and node hosts in their own network namespaces on one
// bridge, plus tap ports on that bridge for QEMU guests. dnsmasq runs in the
// server host; QEMU runs in the bridge's namespace. Everything lives in the
// fleet's namespaces, so destroy() (or cleanupStale after a crash) removes
// processes and links together. Reusable by the end-to-end boot test:
//   const lan = await createPxeLan({ nodes: 0 })
//   await lan.writeConfig({ mode: 'full', range: '10.99.0.150,10.99.0.199,1h', server: URL, out })
//   await lan.startDnsmasq(out)
//   const vm = await lan.startVm({ mac, serialLog, memMb: 256 })
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { createFleet, type Fleet, type Host } from '../../fleetsim/index.ts'

export const SERVER_IP = '10.99.0.1'
/** The real launcher, from source (a stale dist/ bundle must not hide a change). */
export const BIN = join(import.meta.dirname, '../../bin/imgswarm')
const CLI_ENV = { IMGSWARM_FROM_SOURCE: '1', IMGSWARM_CONFIG: 'none' }

export interface PxeLan {
  fleet: Fleet
  server: Host
  nodes: Host[]
  /** Writes OUT/dnsmasq.conf and OUT/tftp with `imgswarm boot pxe` run inside the server host (interface eth0); returns the config's path. */
  writeConfig(o: { mode: 'proxy' | 'full'; server: string; out: string; range?: string }): Promise<string>
  /** Runs `imgswarm ARGS` inside the server host. */
  cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }>
  /** dnsmasq from OUT/dnsmasq.conf in the server host; resolves once it has started (its log is in .log). */
  startDnsmasq(out: string): Promise<Spawned>
  /** Runs a command inside the server host, e.g. `imgswarm serve` (node bin/imgswarm ...). */
  spawnOnServer(cmd: string, args: string[], env?: NodeJS.ProcessEnv): Spawned
  /** The same on any host of the LAN. */
  spawnOn(host: Host, cmd: string, args: string[], env?: NodeJS.ProcessEnv): Spawned
  /** A QEMU PXE guest on a new tap port of the bridge; BIOS (SeaBIOS + the iPXE virtio ROM) unless uefi. */
  startVm(o: VmInit): Promise<Vm>
  destroy(): Promise<void>
}

export interface Spawned {
  child: ChildProcess
  /** stdout and stderr so far. */
  log(): string
  /** Resolves when the output matches, rejects when the process exits first or after timeoutMs. */
  waitFor(re: RegExp, timeoutMs: number): Promise<string>
}

export interface VmInit {
  mac: string
  /** Serial console to this file (SeaBIOS, iPXE and the guest's ttyS0). */
  serialLog: string
  memMb?: number
  /** Extra QEMU arguments, e.g. a disk: ['-drive', 'file=disk.img,format=raw,if=virtio']. */
  extra?: string[]
  uefi?: { code: string; vars: string }
}

export interface Vm extends Spawned {
  tap: string
}

/** TCG unless KVM really works; ../shared/NOTES.md: a KVM guest hangs here, so KVM is opt-in (IMGSWARM_TEST_KVM=1). */
export function accel(): string[] {
  return process.env.IMGSWARM_TEST_KVM === '1' && existsSync('/dev/kvm') ? ['-accel', 'kvm'] : ['-accel', 'tcg']
}

function track(child: ChildProcess): Spawned {
  let out = ''
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString()
  })
  child.stderr?.on('data', (d: Buffer) => {
    out += d.toString()
  })
  return {
    child,
    log: () => out,
    async waitFor(re, timeoutMs) {
      const until = Date.now() + timeoutMs
      for (;;) {
        const m = re.exec(out)
        if (m) return m[0]
        if (child.exitCode !== null || child.signalCode !== null) {
          throw new Error(`process exited (${child.exitCode ?? child.signalCode}) before ${re}:\n${out.slice(-3000)}`)
        }
        if (Date.now() > until) throw new Error(`no ${re} within ${timeoutMs} ms:\n${out.slice(-3000)}`)
        await sleep(100)
      }
    },
  }
}

export async function createPxeLan(o: { nodes?: number; tag?: string } = {}): Promise<PxeLan> {
  // 1 Gbit/s links: shaping is the harness's, not what these tests are about.
  const fleet = await createFleet({
    nodes: Math.max(1, o.nodes ?? 1),
    nodeUpBps: 1e9,
    nodeDownBps: 1e9,
    serverUpBps: 1e9,
    ...(o.tag ? { tag: o.tag } : {}),
  })
  const sw = fleet.switchNetns as string
  let taps = 0
  const inSwitch = (args: string[]) =>
    new Promise<void>((res, rej) => {
      const c = spawn('ip', ['-n', sw, ...args], { stdio: ['ignore', 'ignore', 'pipe'] })
      let err = ''
      c.stderr.on('data', (d: Buffer) => {
        err += d.toString()
      })
      c.on('error', rej)
      c.on('exit', (code) => (code === 0 ? res() : rej(new Error(`ip -n ${sw} ${args.join(' ')}: ${err}`))))
    })
  return {
    fleet,
    server: fleet.server,
    nodes: fleet.nodes,
    async writeConfig(c) {
      // The real command, run where eth0 exists: its checks (interface, address) see the server host's network.
      const args = ['boot', 'pxe', '--mode', c.mode, '--interface', 'eth0', '--server', c.server, '--out', c.out]
      if (c.range) args.push('--range', c.range)
      const r = await fleet.server.exec(BIN, [...args, '--json'], { env: CLI_ENV })
      if (r.code !== 0) throw new Error(`imgswarm boot pxe in the server host failed: ${r.stderr}`)
      return (JSON.parse(r.stdout) as { config: string }).config
    },
    cli(args) {
      return fleet.server.exec(BIN, args, { env: CLI_ENV })
    },
    async startDnsmasq(out) {
      // -u root: the test's temp folders are 0700, which dnsmasq's own user cannot read.
      const s = track(
        fleet.server.spawn('dnsmasq', [
          '--keep-in-foreground',
          `--conf-file=${join(out, 'dnsmasq.conf')}`,
          '--log-facility=-',
          '--pid-file',
          '-u',
          'root',
        ]),
      )
      await s.waitFor(/TFTP root is/, 15_000)
      return s
    },
    spawnOnServer(cmd, args, env) {
      return track(fleet.server.spawn(cmd, args, env ? { env } : {}))
    },
    spawnOn(host, cmd, args, env) {
      return track(host.spawn(cmd, args, env ? { env } : {}))
    },
    async startVm(v) {
      const tap = `tap${taps++}`
      await inSwitch(['tuntap', 'add', 'dev', tap, 'mode', 'tap'])
      await inSwitch(['link', 'set', tap, 'master', 'br0', 'up'])
      const fw = v.uefi
        ? [
            '-drive',
            `if=pflash,format=raw,readonly=on,file=${v.uefi.code}`,
            '-drive',
            `if=pflash,format=raw,file=${v.uefi.vars}`,
          ]
        : []
      const args = [
        'qemu-system-x86_64',
        // graphics=off: SeaBIOS and the iPXE ROM print to the serial port too.
        '-machine',
        'pc,graphics=off',
        ...accel(),
        '-m',
        String(v.memMb ?? 256),
        '-display',
        'none',
        '-monitor',
        'none',
        // The serial console on stdout (waitFor reads it) and in serialLog.
        '-chardev',
        `stdio,id=s0,signal=off,logfile=${v.serialLog}`,
        '-serial',
        'chardev:s0',
        '-no-reboot',
        ...fw,
        '-netdev',
        `tap,id=n0,ifname=${tap},script=no,downscript=no`,
        '-device',
        // QEMU's own ROM for it is iPXE (Debian's ipxe-qemu), for BIOS and UEFI.
        `virtio-net-pci,netdev=n0,mac=${v.mac},bootindex=1`,
        ...(v.extra ?? []),
      ]
      const child = spawn('ip', ['netns', 'exec', sw, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
      child.on('error', () => {})
      return { ...track(child), tap }
    },
    destroy: () => fleet.destroy(),
  }
}
