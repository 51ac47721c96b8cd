// The cluster config parser (seeder/cluster): the commented example edited,
// and files made of its own tables, keys and host ranges (huge, reversed,
// nested). parseCluster reports diagnostics and never throws; a valid file
// then builds its index and resolves a few nodes. No other throw, no hang.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { CLUSTER_EXAMPLE, ClusterIndex, parseCluster } from '../../seeder/cluster/index.ts'
import { CLEAN, campaign, failures, parserVerdict } from './harness.ts'
import { linesArb, mutatedText } from './mutate.ts'
import { CLUSTER_TOKENS, GPT_EXAMPLE } from './parsers.ts'

const VALID = CLUSTER_EXAMPLE.replace(/^# layout = /gm, 'layout = ')
const text = fc.oneof(
  mutatedText([CLUSTER_EXAMPLE, VALID], CLUSTER_TOKENS),
  linesArb(
    ['[global]', '[[group]]', '[[host]]', '[group]', '[host]'],
    [
      'name',
      'priority',
      'auto_enrol',
      'hosts',
      'macs',
      'image',
      'overrides',
      'layout',
      'post',
      'hostname',
      'mac',
      'ip',
      'groups',
    ],
    CLUSTER_TOKENS.filter((t) => t.includes(' = ')).map((t) => t.split(' = ')[1] as string),
  ),
)
const layouts = (path: string): string => {
  if (path.includes('missing')) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' })
  return GPT_EXAMPLE
}
const QUERIES = [
  { hostname: 'node001' },
  { hostname: 'node120', mac: '52:54:00:12:34:56' },
  { mac: '52:54:00:00:00:01', ip: '10.0.0.1' },
  { hostname: 'gpu07.farm.example', groups: ['new'] },
]

describe('fuzz: cluster config', () => {
  it('edited and generated cluster files: diagnostics, never a throw; valid ones resolve', async () => {
    const r = await campaign('cluster', text, async (t) => {
      let res: ReturnType<typeof parseCluster> | undefined
      const parsed = await parserVerdict(() => {
        res = parseCluster(t, 'fuzz-cluster.toml', layouts)
      })
      if (parsed !== 'accepted' || res === undefined)
        return parsed === 'refused' ? 'parseCluster threw a coded error instead of a diagnostic' : parsed
      const config = res.config
      if (config === undefined) return res.diagnostics.length > 0 ? 'refused' : 'no config and no diagnostic'
      return parserVerdict(() => {
        const index = new ClusterIndex(config)
        for (const q of QUERIES) index.resolve(q)
      })
    })
    expect(failures(r)).toEqual(CLEAN)
    expect(r.accepted).toBeGreaterThan(0)
    expect(r.refused).toBeGreaterThan(0)
  })
})
