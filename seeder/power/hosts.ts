// The per-host power file (default STORE/power.toml, or serve.power.file):
// which driver each host uses and where its BMC is. docs/power.md is the
// contract. The first [[host]] whose hosts match wins; what it leaves out
// comes from [serve.power] in the config file.
import { existsSync, readFileSync } from 'node:fs'
import { parse as parseToml } from 'smol-toml'
import { POWER_DRIVERS, type PowerDriverName } from '../../common/config-schedule.ts'
import { errors } from '../../common/errors.ts'
import { expandHosts } from '../cluster/index.ts'

export const POWER_FILE = 'power.toml'
const KEYS = ['hosts', 'driver', 'bmc', 'user', 'password_file', 'amt_host', 'ssh_host']

export interface HostPower {
  /** Line-free description for messages: `power.toml [[host]] #2`. */
  origin: string
  hosts: Set<string>
  driver: PowerDriverName | undefined
  bmc: string | undefined
  user: string | undefined
  passwordFile: string | undefined
  amtHost: string | undefined
  sshHost: string | undefined
}

const MAX_BYTES = 4 * 1024 * 1024
/** Host names a whole file may expand to: a range is capped on its own, a list of ranges is not. */
export const MAX_POWER_HOSTS = 1_000_000

function opt(file: string, where: string, t: Record<string, unknown>, k: string): string | undefined {
  const v = t[k]
  if (v === undefined) return undefined
  if (typeof v !== 'string' || v === '' || v.length > 1024 || /[\0\n]/.test(v))
    throw errors.powerConfig(file, `${where}: ${k} must be a non-empty string on one line`)
  return v
}

export function parsePowerHosts(text: string, file: string): HostPower[] {
  let doc: Record<string, unknown>
  try {
    doc = parseToml(text) as Record<string, unknown>
  } catch (e) {
    throw errors.powerConfig(file, (e as Error).message.split('\n')[0] ?? 'invalid TOML')
  }
  for (const k of Object.keys(doc)) if (k !== 'host') throw errors.powerConfig(file, `unknown key ${k} (use [[host]])`)
  const list = doc.host ?? []
  if (!Array.isArray(list)) throw errors.powerConfig(file, 'host must be an array of tables ([[host]])')
  let total = 0
  return list.map((raw, i) => {
    const where = `[[host]] #${i + 1}`
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
      throw errors.powerConfig(file, `${where}: not a table`)
    const t = raw as Record<string, unknown>
    for (const k of Object.keys(t))
      if (!KEYS.includes(k)) throw errors.powerConfig(file, `${where}: unknown key ${k} (allowed: ${KEYS.join(', ')})`)
    const pats = typeof t.hosts === 'string' ? [t.hosts] : t.hosts
    if (!Array.isArray(pats) || pats.length === 0 || !pats.every((p) => typeof p === 'string'))
      throw errors.powerConfig(file, `${where}: hosts must be a host name, a range like node[001-064], or a list`)
    const hosts = new Set<string>()
    for (const p of pats as string[]) {
      try {
        for (const h of expandHosts(p)) {
          hosts.add(h.toLowerCase())
          if (++total > MAX_POWER_HOSTS) throw new Error(`more than ${MAX_POWER_HOSTS} hosts in the file`)
        }
      } catch (e) {
        throw errors.powerConfig(file, `${where}: hosts ${JSON.stringify(p)}: ${(e as Error).message}`)
      }
    }
    const driver = t.driver
    if (driver !== undefined && !(POWER_DRIVERS as readonly unknown[]).includes(driver))
      throw errors.powerConfig(file, `${where}: driver must be one of ${POWER_DRIVERS.join(', ')}`)
    return {
      origin: `${file} ${where}`,
      hosts,
      driver: driver as PowerDriverName | undefined,
      bmc: opt(file, where, t, 'bmc'),
      user: opt(file, where, t, 'user'),
      passwordFile: opt(file, where, t, 'password_file'),
      amtHost: opt(file, where, t, 'amt_host'),
      sshHost: opt(file, where, t, 'ssh_host'),
    }
  })
}

/** Reads the power file; a missing file is no entries. */
export function loadPowerHosts(file: string): HostPower[] {
  if (!existsSync(file)) return []
  let text: string
  try {
    const buf = readFileSync(file)
    if (buf.length > MAX_BYTES) throw new Error(`larger than ${MAX_BYTES} bytes`)
    text = buf.toString('utf8')
  } catch (e) {
    throw errors.powerConfig(file, `cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`)
  }
  return parsePowerHosts(text, file)
}
