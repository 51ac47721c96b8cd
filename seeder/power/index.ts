// Power control with pluggable drivers (docs/power.md): Wake-on-LAN built
// in, IPMI through ipmitool, ssh systemctl for running nodes, Intel AMT
// through amttool. This file is the whole public surface of seeder/power.
import { statSync } from 'node:fs'
import { join } from 'node:path'
import type { PowerConfig, PowerDriverName } from '../../common/config-schedule.ts'
import { errors } from '../../common/errors.ts'
import { amt, ipmi, type PowerOp, ssh } from './drivers.ts'
import { type HostPower, loadPowerHosts, POWER_FILE } from './hosts.ts'
import { wake } from './wol.ts'

export { POWER_OPS, type PowerOp } from './drivers.ts'
export { type HostPower, loadPowerHosts, POWER_FILE, parsePowerHosts } from './hosts.ts'
export {
  POWER_VERBS,
  type PowerOutcome,
  type PowerRoutesInit,
  type PowerVerb,
  powerNodes,
  registerPowerRoutes,
} from './routes.ts'
export { interfaceBroadcast, magicPacket, WOL_PORT, wake } from './wol.ts'

/** A node as the fleet knows it. */
export interface PowerTarget {
  id: string
  hostname: string | null
  mac: string | null
  ip: string | null
}

export interface PowerResult {
  node: string
  driver: PowerDriverName
  op: PowerOp
  /** What was done, e.g. ["chassis bootdev pxe", "chassis power cycle"] or ["magic packet to 10.0.0.255:9"]. */
  done: string[]
}

export interface PowerInit {
  config: PowerConfig
  /** Where STORE/power.toml is looked for when serve.power.file is not set. */
  storeRoot?: string
}

export interface Power {
  /** The driver a node uses: the explicit one, else its power.toml entry, else serve.power.driver. */
  driverFor(t: PowerTarget, driver?: PowerDriverName): PowerDriverName
  run(op: PowerOp, t: PowerTarget, driver?: PowerDriverName, signal?: AbortSignal): Promise<PowerResult>
  /** Re-reads the power file now. It is also re-read on use whenever its size or mtime changed. */
  reload(): void
}

const fill = (template: string, t: PowerTarget, name: string) =>
  template
    .replaceAll('{host}', name)
    .replaceAll('{ip}', t.ip ?? '')
    .replaceAll('{mac}', t.mac ?? '')

export function createPower(init: PowerInit): Power {
  const cfg = init.config
  const file = cfg.file ?? (init.storeRoot === undefined ? undefined : join(init.storeRoot, POWER_FILE))
  // The file's identity when it was last read: an edit is picked up on the next use,
  // without a serve restart; a broken edit fails that use with the file's error.
  const stamp = () => {
    if (file === undefined) return ''
    try {
      const st = statSync(file)
      return `${st.size}:${st.mtimeMs}:${st.ino}`
    } catch {
      return 'missing'
    }
  }
  let readStamp = stamp()
  let hosts: HostPower[] = file === undefined ? [] : loadPowerHosts(file)
  const reload = () => {
    if (file === undefined) return
    const now = stamp()
    hosts = loadPowerHosts(file)
    readStamp = now
  }
  const current = () => {
    if (stamp() !== readStamp) reload()
    return hosts
  }
  const entryFor = (t: PowerTarget): HostPower | undefined => {
    const hosts = current()
    const keys = [t.hostname, t.id, t.mac, t.ip].filter((k): k is string => !!k).map((k) => k.toLowerCase())
    return hosts.find((h) => keys.some((k) => h.hosts.has(k)))
  }
  const driverFor = (t: PowerTarget, d?: PowerDriverName) => d ?? entryFor(t)?.driver ?? cfg.driver
  return {
    driverFor,
    reload,
    async run(op, t, d, signal) {
      const driver = driverFor(t, d)
      const e = entryFor(t)
      const name = t.hostname ?? t.ip ?? t.id
      const call = { op, host: t.id, timeoutMs: cfg.timeoutSec * 1000, signal }
      const result = (done: string[]): PowerResult => ({ node: t.id, driver, op, done })
      switch (driver) {
        case 'none':
          return result([])
        case 'wol': {
          if (op !== 'on' && op !== 'pxe')
            throw errors.power(
              'wol',
              t.id,
              `Wake-on-LAN can only wake a node (on, pxe), not ${op}: use ipmi, ssh or amt`,
            )
          if (!t.mac) throw errors.power('wol', t.id, 'the node has no MAC address in the inventory')
          const w = await wake(t.mac, {
            port: cfg.wol.port,
            broadcast: cfg.wol.broadcast,
            interface: cfg.wol.interface,
          })
          return result([`magic packet to ${w.to}:${w.port}`])
        }
        case 'ipmi':
          return result(
            await ipmi(call, {
              bmc: fill(e?.bmc ?? cfg.ipmi.bmc, t, name),
              user: e?.user ?? cfg.ipmi.user,
              passwordFile: e?.passwordFile ?? cfg.ipmi.passwordFile,
              interface: cfg.ipmi.interface,
            }),
          )
        case 'ssh': {
          const address = e?.sshHost === undefined ? (t.hostname ?? t.ip) : fill(e.sshHost, t, name)
          if (!address) throw errors.power('ssh', t.id, 'the node has neither a host name nor an IP address')
          return result(
            await ssh(call, {
              address,
              user: cfg.ssh.user,
              port: cfg.ssh.port,
              identity: cfg.ssh.identity,
              knownHosts: cfg.ssh.knownHosts,
            }),
          )
        }
        case 'amt':
          return result(
            await amt(call, {
              address: fill(e?.amtHost ?? cfg.amt.host, t, name),
              passwordFile: e?.passwordFile ?? cfg.amt.passwordFile,
            }),
          )
      }
    },
  }
}
