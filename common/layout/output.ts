// What a resolved layout turns into: the sfdisk script, the mount order, and
// the layout printed back as TOML.
import { stringify } from 'smol-toml'
import { GPT_ATTR_LEGACY_BOOT } from './constants.ts'
import { formatSize } from './size.ts'
import type { Layout, ResolvedLayout, ResolvedPartition } from './types.ts'

/**
 * Input for `sfdisk DEV`. Deterministic: no disk or partition GUIDs are given,
 * so sfdisk makes fresh random ones per disk (two nodes never share them).
 */
export function sfdiskScript(resolved: ResolvedLayout): string {
  const lines = [`label: ${resolved.table === 'gpt' ? 'gpt' : 'dos'}`, 'unit: sectors', 'sector-size: 512']
  if (resolved.table === 'gpt') lines.push('first-lba: 2048')
  lines.push('')
  for (const p of resolved.partitions) {
    const fields = [`start=${p.startSector}`, `size=${p.sizeSectors}`, `type=${p.type}`]
    if (resolved.table === 'gpt') {
      // Labels are [A-Za-z0-9_-] (checked by the parser), so quoting is enough.
      fields.push(`name="${p.label}"`)
      if (p.flags.includes('boot')) fields.push(`attrs="${GPT_ATTR_LEGACY_BOOT}"`)
    } else if (p.flags.includes('boot')) {
      fields.push('bootable')
    }
    lines.push(fields.join(', '))
  }
  return `${lines.join('\n')}\n`
}

/** Partitions that have a mount point, parents before children ("/" first, "/boot" before "/boot/efi"). */
export function mountOrder(resolved: ResolvedLayout): (ResolvedPartition & { mount: string })[] {
  const mounted = resolved.partitions.filter((p): p is ResolvedPartition & { mount: string } => p.mount !== undefined)
  const depth = (m: string) => (m === '/' ? 0 : m.split('/').length - 1)
  return mounted.sort((a, b) => depth(a.mount) - depth(b.mount) || (a.mount < b.mount ? -1 : a.mount > b.mount ? 1 : 0))
}

/** The layout as TOML that parseLayout reads back to an equal Layout. */
export function formatLayout(layout: Layout): string {
  return stringify({
    table: layout.table,
    partition: layout.partitions.map((p) => ({
      label: p.label,
      size: formatSize(p.size),
      fs: p.fs,
      ...(p.mount === undefined ? {} : { mount: p.mount }),
      ...(p.flags.length === 0 ? {} : { flags: p.flags }),
      ...(p.mkfsOptions.length === 0 ? {} : { mkfs_options: p.mkfsOptions }),
    })),
  })
}
