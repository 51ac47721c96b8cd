// Warnings, not errors: two groups of equal priority that give one node
// different values for the same setting. The file-order rule decides it
// (docs/cluster-config.md#precedence), but the person may not have meant to
// rely on it.
import type { KeyPath } from './positions.ts'
import { expandHostPattern } from './range.ts'
import type { ClusterIndex } from './resolve.ts'
import type { GroupDef } from './types.ts'

const SETTINGS = ['image', 'layout', 'post'] as const

function settingOf(g: GroupDef, k: (typeof SETTINGS)[number]): string | undefined {
  if (k === 'layout') return g.layout?.value.path
  return g[k]?.value
}

export function tieWarnings(index: ClusterIndex, warn: (path: KeyPath, message: string) => void): void {
  const groups = index.config.groups
  const said = new Set<string>()
  for (const a of groups) {
    if (!SETTINGS.some((k) => settingOf(a, k) !== undefined)) continue
    const check = (hostname: string | undefined, mac: string | undefined) => {
      const host = index.host({ hostname, mac, ip: undefined })
      const id = { hostname: host?.hostname ?? hostname, mac: host?.mac ?? mac, ip: undefined }
      for (const b of index.groupsOf(id, host)) {
        if (b === a || b.priority !== a.priority || b.order < a.order) continue
        for (const k of SETTINGS) {
          const va = settingOf(a, k)
          const vb = settingOf(b, k)
          const key = `${a.order}:${b.order}:${k}`
          if (va === undefined || vb === undefined || va === vb || said.has(key)) continue
          said.add(key)
          warn(
            ['group', b.order, k],
            `groups ${a.name} (line ${a.line}) and ${b.name} both have priority ${a.priority} and set a different ${k} for ${id.hostname ?? id.mac}: ${b.name} wins because it comes later in the file; give them different priorities to say so`,
          )
        }
      }
    }
    for (const p of a.hosts) for (const n of expandHostPattern(p)) check(n, undefined)
    for (const m of a.macs) check(undefined, m)
    for (const h of index.config.hosts) if (h.groups.includes(a.name)) check(h.hostname, h.mac)
  }
}
