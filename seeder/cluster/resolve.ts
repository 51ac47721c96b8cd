// Who is in which group, and what a node's plan is: global < groups by
// ascending priority (ties: file order) < host. docs/cluster-config.md#precedence.
import { normalizeHostname, normalizeIp, normalizeMac } from '../plans/config.ts'
import type { PlanQuery } from '../plans/types.ts'
import { expandHostPattern } from './range.ts'
import type { ClusterConfig, GroupDef, HostDef, Layer, ResolvedNode, Setting } from './types.ts'

/** Lowest precedence first: ascending priority, then file order. */
export function byPrecedence(a: GroupDef, b: GroupDef): number {
  return a.priority - b.priority || a.order - b.order
}

const DEFAULT_POST: Setting<'reboot'> = { value: 'reboot', from: { kind: 'default', name: '', line: 0 } }

/**
 * Overrides stack layer by layer. A later layer that names an override NAME
 * already in the stack (any version) replaces it, at the later position.
 */
export function stackOverrides(layers: Layer[]): Setting<string>[] {
  const out: Setting<string>[] = []
  for (const l of layers) {
    for (const o of l.overrides) {
      const name = o.value.split('@')[0]
      const at = out.findIndex((x) => x.value.split('@')[0] === name)
      if (at >= 0) out.splice(at, 1)
      out.push(o)
    }
  }
  return out
}

/** The value of the highest layer that sets it. */
function last<T>(layers: Layer[], pick: (l: Layer) => Setting<T> | undefined): Setting<T> | undefined {
  for (let i = layers.length - 1; i >= 0; i--) {
    const v = pick(layers[i] as Layer)
    if (v !== undefined) return v
  }
  return undefined
}

export interface Identity {
  hostname: string | undefined
  mac: string | undefined
  ip: string | undefined
}

export class ClusterIndex {
  readonly config: ClusterConfig
  readonly #hostByMac = new Map<string, HostDef>()
  readonly #hostByName = new Map<string, HostDef>()
  readonly #hostByIp = new Map<string, HostDef>()
  readonly #byName = new Map<string, Set<GroupDef>>()
  readonly #byMac = new Map<string, Set<GroupDef>>()
  readonly #groups = new Map<string, GroupDef>()

  constructor(config: ClusterConfig) {
    this.config = config
    for (const h of config.hosts) {
      if (h.mac) this.#hostByMac.set(h.mac, h)
      if (h.hostname) this.#hostByName.set(h.hostname, h)
      if (h.ip) this.#hostByIp.set(h.ip, h)
    }
    const add = (m: Map<string, Set<GroupDef>>, k: string, g: GroupDef) => {
      const s = m.get(k)
      if (s) s.add(g)
      else m.set(k, new Set([g]))
    }
    // The parser caps the names of all ranges together, so this stays bounded.
    for (const g of config.groups) {
      this.#groups.set(g.name, g)
      for (const p of g.hosts) for (const n of expandHostPattern(p)) add(this.#byName, n, g)
      for (const m of g.macs) add(this.#byMac, m, g)
    }
  }

  group(name: string): GroupDef | undefined {
    return this.#groups.get(name)
  }

  /** The [[host]] entry for a query: by MAC, then hostname, then IP. */
  host(id: Identity): HostDef | undefined {
    return (
      (id.mac && this.#hostByMac.get(id.mac)) ||
      (id.hostname && this.#hostByName.get(id.hostname)) ||
      (id.ip && this.#hostByIp.get(id.ip)) ||
      undefined
    )
  }

  /** Who the query is: its [[host]] entry's identity, completed from the query. */
  identify(q: PlanQuery): { id: Identity; host: HostDef | undefined } {
    const asked: Identity = {
      mac: q.mac === undefined ? undefined : normalizeMac(q.mac),
      hostname: q.hostname === undefined ? undefined : normalizeHostname(q.hostname),
      ip: q.ip === undefined ? undefined : normalizeIp(q.ip),
    }
    const host = this.host(asked)
    if (!host) return { id: asked, host }
    return {
      id: { mac: host.mac ?? asked.mac, hostname: host.hostname ?? asked.hostname, ip: host.ip ?? asked.ip },
      host,
    }
  }

  /** Its groups, lowest precedence first; `extra` are names from elsewhere (the fleet database), unknown ones ignored. */
  groupsOf(id: Identity, host: HostDef | undefined, extra: readonly string[] = []): GroupDef[] {
    const s = new Set<GroupDef>()
    if (id.hostname) for (const g of this.#byName.get(id.hostname) ?? []) s.add(g)
    if (id.mac) for (const g of this.#byMac.get(id.mac) ?? []) s.add(g)
    for (const n of [...(host?.groups ?? []), ...extra]) {
      const g = this.#groups.get(n)
      if (g) s.add(g)
    }
    return [...s].sort(byPrecedence)
  }

  /** The node's plan with provenance; undefined when the file does not know the node at all. */
  resolve(q: PlanQuery): ResolvedNode | undefined {
    const { id, host } = this.identify(q)
    const groups = this.groupsOf(id, host, q.groups)
    if (!host && groups.length === 0) return undefined
    return this.resolveWith(id, host, groups)
  }

  resolveWith(id: Identity, host: HostDef | undefined, groups: GroupDef[]): ResolvedNode {
    const layers: Layer[] = [this.config.global, ...groups, ...(host ? [host] : [])]
    return {
      node: { hostname: id.hostname ?? null, mac: id.mac ?? null, ip: id.ip ?? null },
      groups,
      host,
      image: last(layers, (l) => l.image),
      overrides: stackOverrides(layers),
      post: last(layers, (l) => l.post) ?? DEFAULT_POST,
      layout: last(layers, (l) => l.layout),
    }
  }

  /**
   * The group an unknown node may join by itself: the highest-priority
   * auto_enrol group among its groups; for a node the file does not know at
   * all, the highest-priority auto_enrol group that lists no members.
   */
  autoEnrolGroup(q: PlanQuery): string | undefined {
    const { id, host } = this.identify(q)
    const groups = this.groupsOf(id, host, q.groups)
    const mine = groups.filter((g) => g.autoEnrol)
    if (mine.length > 0) return (mine[mine.length - 1] as GroupDef).name
    if (host || groups.length > 0) return undefined
    const open = this.config.groups.filter((g) => g.autoEnrol && g.hosts.length === 0 && g.macs.length === 0)
    return open.sort(byPrecedence).at(-1)?.name
  }

  /** A group's members as the file lists them: names from its ranges, its MACs, and [[host]] entries that join it. */
  members(name: string): string[] | undefined {
    const g = this.#groups.get(name)
    if (!g) return undefined
    const out = new Set<string>()
    for (const p of g.hosts) for (const n of expandHostPattern(p)) out.add(n)
    for (const m of g.macs) out.add(this.#hostByMac.get(m)?.hostname ?? m)
    for (const h of this.config.hosts) if (h.groups.includes(name)) out.add(h.label)
    return [...out]
  }

  /** Every node the file names: range members, group MACs and hosts, each once. */
  allNodes(): string[] {
    const out = new Set<string>()
    for (const g of this.config.groups) for (const n of this.members(g.name) ?? []) out.add(n)
    for (const h of this.config.hosts) out.add(h.label)
    return [...out]
  }
}
