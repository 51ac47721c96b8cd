// docs/cluster-config.md stays true: its full example validates, and every
// row of its "what nodes get" table is what resolution gives.
import { readFileSync } from 'node:fs'
import { basename } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ClusterIndex, parseCluster } from '../../seeder/cluster/index.ts'
import { GPT_EXAMPLE } from '../layout/fixtures.ts'

const md = readFileSync(new URL('../../docs/cluster-config.md', import.meta.url), 'utf8')

describe('docs/cluster-config.md', () => {
  it('its example resolves as its table says', () => {
    const text = /```toml\n([\s\S]*?)```/.exec(md)?.[1] as string
    // The layout files it names are not in the repository: any valid layout stands in.
    const r = parseCluster(text, '/srv/imgswarm/cluster.toml', () => GPT_EXAMPLE)
    expect(r.diagnostics).toEqual([])
    const index = new ClusterIndex(r.config!)
    const table = md.slice(md.indexOf('| node | groups'), md.indexOf('## The file, key by key'))
    const rows = table
      .split('\n')
      .slice(2)
      .filter((l) => l.startsWith('|'))
    expect(rows.length).toBe(5)
    for (const row of rows) {
      const [node, groups, image, overrides, layout, post] = row
        .split('|')
        .slice(1, -1)
        .map((c) => c.trim())
      const unknown = node?.startsWith('an unknown MAC')
      const q = unknown
        ? { mac: '02:00:00:00:00:99', groups: [index.autoEnrolGroup({ mac: '02:00:00:00:00:99' }) as string] }
        : { hostname: (node as string).replaceAll('`', '') }
      const got = index.resolve(q)
      expect(got, row).toBeDefined()
      expect(got?.groups.map((g) => g.name).join(' < '), row).toBe(groups)
      expect(got?.image?.value, row).toBe(/`([^`]+)`/.exec(image as string)?.[1])
      expect(got?.overrides.map((o) => o.value).join(', '), row).toBe(overrides)
      expect(basename(got?.layout?.value.path ?? ''), row).toBe(layout)
      expect(got?.post.value, row).toBe(post)
    }
  })
})
