// Precedence by property: for random groups (priorities with ties, images,
// overrides, post-actions, membership by range, MAC or the host's groups key)
// the resolved image, post-action and override order always follow the rule
// in docs/cluster-config.md: global < groups by ascending priority (ties: file
// order) < host; overrides stack in that order, a later NAME replacing an
// earlier one.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ClusterIndex, clusterPlanSource, parseCluster } from '../../seeder/cluster/index.ts'
import { RUNS } from '../support/fuzz.ts'

const MAC = '52:54:00:00:00:01'
const ref = fc.tuple(fc.constantFrom('a', 'b', 'c', 'd', 'e'), fc.constantFrom('', '@1', '@2')).map(([n, v]) => n + v)
const layer = fc.record({
  image: fc.option(fc.constantFrom('img1', 'img2@3', 'img3'), { nil: undefined }),
  overrides: fc.array(ref, { maxLength: 4 }),
  post: fc.option(fc.constantFrom('reboot', 'poweroff', 'kexec', 'shell', 'none'), { nil: undefined }),
})
const group = fc.record({
  priority: fc.integer({ min: -2, max: 2 }),
  member: fc.constantFrom('range', 'name', 'mac', 'hostkey', 'no'),
  layer,
})
type L = { image: string | undefined; overrides: string[]; post: string | undefined }

function layerToml(l: L): string {
  const lines: string[] = []
  if (l.image) lines.push(`image = "${l.image}"`)
  if (l.overrides.length > 0) lines.push(`overrides = [${l.overrides.map((o) => `"${o}"`).join(', ')}]`)
  if (l.post) lines.push(`post = "${l.post}"`)
  return lines.join('\n')
}

function model(global: L, groups: { priority: number; layer: L }[], host: L | undefined) {
  const sorted = groups
    .map((g, order) => ({ ...g, order }))
    .sort((a, b) => a.priority - b.priority || a.order - b.order)
  const layers = [global, ...sorted.map((g) => g.layer), ...(host ? [host] : [])]
  let image: string | undefined
  let post = 'reboot'
  const overrides: string[] = []
  for (const l of layers) {
    if (l.image) image = l.image
    if (l.post) post = l.post
    for (const o of l.overrides) {
      const i = overrides.findIndex((x) => x.split('@')[0] === o.split('@')[0])
      if (i >= 0) overrides.splice(i, 1)
      overrides.push(o)
    }
  }
  return { image, post, overrides, order: sorted.map((g) => g.order) }
}

describe('precedence (property)', () => {
  it('image, post and override order follow global < groups by priority (ties: file order) < host', async () => {
    await fc.assert(
      fc.asyncProperty(
        layer,
        fc.array(group, { minLength: 1, maxLength: 6 }),
        fc.option(layer, { nil: undefined }),
        async (g0, groups, host) => {
          const global = { ...g0, image: g0.image ?? 'base' }
          const parts = [`[global]\n${layerToml(global)}`]
          const joins: string[] = []
          groups.forEach((g, i) => {
            const member =
              g.member === 'range'
                ? 'hosts = ["n[1-3]"]'
                : g.member === 'name'
                  ? 'hosts = ["n1", "other"]'
                  : g.member === 'mac'
                    ? `macs = ["${MAC}"]`
                    : ''
            if (g.member === 'hostkey') joins.push(`"g${i}"`)
            parts.push(`[[group]]\nname = "g${i}"\npriority = ${g.priority}\n${member}\n${layerToml(g.layer)}`)
          })
          const withHost = host !== undefined || joins.length > 0
          if (withHost) {
            parts.push(
              `[[host]]\nhostname = "n1"\nmac = "${MAC}"\n${joins.length > 0 ? `groups = [${joins.join(', ')}]\n` : ''}${host ? layerToml(host) : ''}`,
            )
          }
          const text = `${parts.join('\n\n')}\n`
          const r = parseCluster(text, '/nowhere/cluster.toml')
          expect(r.diagnostics).toEqual([])
          const index = new ClusterIndex(r.config!)
          const members = groups.map((g, i) => ({ ...g, i })).filter((g) => g.member !== 'no')
          const want = model(
            global,
            members.map((g) => ({ priority: g.priority, layer: g.layer })),
            host,
          )
          // Without a [[host]] entry nothing ties n1 to the MAC: the node then sends both.
          const queries = withHost
            ? [{ hostname: 'n1' }, { mac: MAC.toUpperCase() }, { hostname: 'n1', mac: MAC }]
            : [{ hostname: 'n1', mac: MAC }]
          for (const q of queries) {
            const got = index.resolve(q)
            if (members.length === 0 && !withHost) {
              expect(got).toBeUndefined()
              continue
            }
            expect(got?.image?.value).toBe(want.image)
            expect(got?.post.value).toBe(want.post)
            expect(got?.overrides.map((o) => o.value)).toEqual(want.overrides)
            expect(got?.groups.map((g) => g.name)).toEqual(want.order.map((k) => `g${members[k]?.i}`))
          }
        },
      ),
      { numRuns: RUNS },
    )
  })

  it('fleet-database groups count as membership, unknown names are ignored, and the source serves the same plan', async () => {
    const text = `[global]\nimage = "base"\noverrides = ["site"]\n
[[group]]\nname = "low"\npriority = 1\noverrides = ["low"]\n
[[group]]\nname = "high"\npriority = 9\nimage = "hi@2"\noverrides = ["high"]\nhosts = ["n[01-04]"]\n`
    const { writeFile, mkdtemp, rm } = await import('node:fs/promises')
    const { tmpdir } = await import('node:os')
    const { join } = await import('node:path')
    const dir = await mkdtemp(join(tmpdir(), 'imgswarm-cluster-'))
    try {
      await writeFile(join(dir, 'cluster.toml'), text)
      const src = await clusterPlanSource({ file: join(dir, 'cluster.toml'), watch: false })
      expect(src.planFor({ mac: '52:54:00:aa:bb:cc' })).toBeUndefined()
      expect(src.planFor({ mac: '52:54:00:aa:bb:cc', groups: ['nope'] })).toBeUndefined()
      const adopted = src.planFor({ mac: '52:54:00:aa:bb:cc', groups: ['low', 'nope'] })
      expect(adopted).toMatchObject({ image: 'base', overrides: ['site', 'low'] })
      const both = src.planFor({ hostname: 'n02', groups: ['low'] })
      expect(both).toMatchObject({ image: 'hi@2', overrides: ['site', 'low', 'high'] })
      expect(both?.origin).toMatch(/cluster\.toml:10 \(groups low < high\)$/)
      expect(src.groupsOf?.({ hostname: 'n02', groups: ['low'] })).toEqual(['low', 'high'])
      expect(src.members?.('high')).toEqual(['n01', 'n02', 'n03', 'n04'])
      expect(src.members?.('nope')).toBeUndefined()
      expect(src.groupNames?.()).toEqual(['low', 'high'])
      expect(src.references()).toEqual([
        { kind: 'image', name: 'base', version: undefined },
        { kind: 'override', name: 'site', version: undefined },
        { kind: 'override', name: 'low', version: undefined },
        { kind: 'image', name: 'hi', version: '2' },
        { kind: 'override', name: 'high', version: undefined },
      ])
      src.close()
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
