// A PlanSource backed by plans.toml. A missing file means "no plans yet"
// (a fresh server), not an error; a broken file is an error at start and on
// reload, and a failed reload keeps the plans that were in force.
import { readFile } from 'node:fs/promises'
import { parseRef } from '../../common/names.ts'
import {
  identityOf,
  type NodeEntry,
  normalizeHostname,
  normalizeIp,
  normalizeMac,
  type PlansConfig,
  parsePlansToml,
} from './config.ts'
import type { PlanQuery, PlanRef, PlanSource, PlanSpec } from './types.ts'

async function load(path: string): Promise<PlansConfig> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e
    return { file: path, defaults: { image: undefined, overrides: [], post: 'reboot', disk: null }, nodes: [] }
  }
  return parsePlansToml(text, path)
}

export function configPlanSource(initial: PlansConfig, reread?: () => Promise<PlansConfig>): PlanSource {
  let cfg = initial
  let byMac = new Map<string, NodeEntry>()
  let byHost = new Map<string, NodeEntry>()
  let byIp = new Map<string, NodeEntry>()
  const index = () => {
    byMac = new Map()
    byHost = new Map()
    byIp = new Map()
    for (const n of cfg.nodes) {
      if (n.mac) byMac.set(n.mac, n)
      if (n.hostname) byHost.set(n.hostname, n)
      if (n.ip) byIp.set(n.ip, n)
    }
  }
  index()
  const source: PlanSource = {
    get origin() {
      return cfg.file
    },
    planFor(q: PlanQuery): PlanSpec | undefined {
      const mac = q.mac === undefined ? undefined : normalizeMac(q.mac)
      const host = q.hostname === undefined ? undefined : normalizeHostname(q.hostname)
      const ip = q.ip === undefined ? undefined : normalizeIp(q.ip)
      const n =
        (mac && byMac.get(mac)) ||
        (host && byHost.get(host)) ||
        (ip && byIp.get(ip)) ||
        (undefined as NodeEntry | undefined)
      if (!n) return undefined
      const id = identityOf(n)
      return {
        node: { hostname: id.hostname ?? host ?? null, mac: id.mac ?? mac ?? null, ip: id.ip ?? ip ?? null },
        image: (n.image ?? cfg.defaults.image) as string,
        overrides: n.overrides ?? cfg.defaults.overrides,
        post: n.post ?? cfg.defaults.post,
        disk: n.disk ?? cfg.defaults.disk ?? null,
        origin: `${cfg.file} [[node]] #${n.index}`,
      }
    },
    directOverrides: () => cfg.direct ?? new Set<string>(),
    references(): PlanRef[] {
      const refs: PlanRef[] = []
      const add = (kind: 'image' | 'override', ref: string) => {
        const r = parseRef(ref, kind)
        if (!refs.some((x) => x.kind === kind && x.name === r.name && x.version === r.version)) {
          refs.push({ kind, name: r.name, version: r.version })
        }
      }
      // Everything the file names counts, [defaults] included.
      if (cfg.defaults.image !== undefined) add('image', cfg.defaults.image)
      for (const o of cfg.defaults.overrides) add('override', o)
      for (const n of cfg.nodes) {
        add('image', (n.image ?? cfg.defaults.image) as string)
        for (const o of n.overrides ?? cfg.defaults.overrides) add('override', o)
      }
      return refs
    },
  }
  if (reread) {
    source.reload = async () => {
      cfg = await reread()
      index()
    }
  }
  return source
}

/** Plans from a TOML file (see docs/api.md); reload() re-reads it. */
export async function filePlanSource(path: string): Promise<PlanSource> {
  return configPlanSource(await load(path), () => load(path))
}
