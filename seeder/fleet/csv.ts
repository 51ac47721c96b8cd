// The inventory file: pumi's MAC/IP list, one node a line,
//   mac,ip[,hostname[,group]]
// with an optional header line naming those columns (in any order), blank
// lines and #-comments ignored. Any bad line fails the whole file.
import { errors } from '../../common/errors.ts'
import { normalizeHostname, normalizeIp, normalizeMac } from '../plans/index.ts'
import type { InventoryEntry } from './types.ts'

export const GROUP_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$'
const GROUP = new RegExp(GROUP_PATTERN)
const COLUMNS = ['mac', 'ip', 'hostname', 'group'] as const
type Column = (typeof COLUMNS)[number]
export const MAX_LINES = 100_000

export function parseInventoryCsv(text: string, file: string): InventoryEntry[] {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/)
  if (lines.length > MAX_LINES + 1) throw errors.csv(file, MAX_LINES + 1, `more than ${MAX_LINES} lines`)
  let cols: readonly Column[] = COLUMNS
  let first = true
  const out: InventoryEntry[] = []
  const macs = new Map<string, number>()
  const hosts = new Map<string, number>()
  for (let i = 0; i < lines.length; i++) {
    const line = i + 1
    const raw = (lines[i] as string).trim()
    if (raw === '' || raw.startsWith('#')) continue
    if (raw.includes('"')) throw errors.csv(file, line, 'quoted fields are not supported (no field needs a comma)')
    const fields = raw.split(',').map((f) => f.trim())
    if (first) {
      first = false
      if (fields[0] !== undefined && COLUMNS.includes(fields[0].toLowerCase() as Column)) {
        cols = header(fields, file, line)
        continue
      }
    }
    if (fields.length < 2 || fields.length > cols.length) {
      throw errors.csv(
        file,
        line,
        `expected ${cols.length === 4 ? '2 to 4' : cols.length} fields, found ${fields.length}`,
      )
    }
    const get = (c: Column) => {
      const k = cols.indexOf(c)
      const v = k < 0 ? undefined : fields[k]
      return v === undefined || v === '' ? undefined : v
    }
    const macText = get('mac')
    if (macText === undefined) throw errors.csv(file, line, 'the mac field is empty')
    const mac = normalizeMac(macText)
    if (mac === undefined) throw errors.csv(file, line, `${JSON.stringify(macText.slice(0, 40))} is not a MAC address`)
    const ipText = get('ip')
    const ip = ipText === undefined ? null : normalizeIp(ipText)
    if (ip === undefined) throw errors.csv(file, line, `${JSON.stringify(ipText?.slice(0, 60))} is not an IP address`)
    const hostText = get('hostname')
    const hostname = hostText === undefined ? null : normalizeHostname(hostText)
    if (hostname === undefined) {
      throw errors.csv(file, line, `${JSON.stringify(hostText?.slice(0, 80))} is not a valid host name`)
    }
    if (hostname !== null && normalizeMac(hostname) !== undefined) {
      throw errors.csv(file, line, `the host name ${hostname} looks like a MAC address`)
    }
    const group = get('group') ?? null
    if (group !== null && !GROUP.test(group)) {
      throw errors.csv(file, line, `group ${JSON.stringify(group.slice(0, 80))}: letters, digits, . _ + - (64 at most)`)
    }
    const dupM = macs.get(mac)
    if (dupM !== undefined) throw errors.csv(file, line, `mac ${mac} is already on line ${dupM}`)
    macs.set(mac, line)
    if (hostname !== null) {
      const dupH = hosts.get(hostname)
      if (dupH !== undefined) throw errors.csv(file, line, `host name ${hostname} is already on line ${dupH}`)
      hosts.set(hostname, line)
    }
    out.push({ mac, ip, hostname, group, line })
  }
  return out
}

function header(fields: string[], file: string, line: number): Column[] {
  const cols: Column[] = []
  for (const f of fields) {
    const c = f.toLowerCase() as Column
    if (!COLUMNS.includes(c))
      throw errors.csv(file, line, `unknown column ${JSON.stringify(f.slice(0, 40))} in the header`)
    if (cols.includes(c)) throw errors.csv(file, line, `column ${c} twice in the header`)
    cols.push(c)
  }
  if (!cols.includes('mac')) throw errors.csv(file, line, 'the header has no mac column')
  return cols
}
