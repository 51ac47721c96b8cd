// The disk layout parser (common/layout): edited sample layouts and lines
// made of the format's own words, parsed and then resolved against disks of
// edge sizes. Only IMGSWARM_ERR_* refusals, no other throw, no hang.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { parseLayout, resolveLayout, sfdiskScript } from '../../common/layout/index.ts'
import { CLEAN, campaign, failures, parserVerdict } from './harness.ts'
import { linesArb, mutatedText } from './mutate.ts'
import { GPT_EXAMPLE, LAYOUT_TOKENS, MSDOS_EXAMPLE } from './parsers.ts'

/** Layouts written from the format's own values: many valid, many subtly not (two grows, 100%+, bad flags). */
/** Layouts written from the format's own values: valid kinds of partition, sometimes with one field spoiled. */
const KINDS: Record<string, Record<string, unknown>> = {
  bios: { label: 'biosboot', size: '1MiB', flags: ['bios_grub'] },
  esp: { label: 'esp', size: '512MiB', fs: 'vfat', mount: '/boot/efi', flags: ['esp'] },
  swap: { label: 'swap', size: '5%', fs: 'swap' },
  var: { label: 'var', size: '20GiB', fs: 'xfs', mount: '/var' },
  root: { label: 'root', size: 'grow', fs: 'ext4', mount: '/' },
}
const spoil = fc.record({
  at: fc.nat(),
  key: fc.constantFrom('label', 'size', 'fs', 'mount', 'flags', 'mkfs_options', 'extra'),
  value: fc.constantFrom('grow', '0MiB', '100%', '3TiB', '-1MiB', 'btrfs', '', 'relative', '/a/../b', 1, [], ['esp']),
})
const written = fc
  .tuple(
    fc.constantFrom('gpt', 'msdos'),
    fc.subarray(Object.keys(KINDS), { minLength: 1 }),
    fc.oneof({ arbitrary: fc.constant(undefined), weight: 2 }, { arbitrary: spoil, weight: 1 }),
  )
  .map(([table, kinds, bad]) => {
    const parts = kinds.map((k) => ({ ...KINDS[k] }))
    if (bad) (parts[bad.at % parts.length] as Record<string, unknown>)[bad.key] = bad.value
    const lines = parts.flatMap((p) => [
      '[[partition]]',
      ...Object.entries(p).map(([k, v]) => `${k} = ${JSON.stringify(v)}`),
    ])
    return [`table = "${table}"`, ...lines].join('\n')
  })
const text = fc.oneof(
  written,
  mutatedText([GPT_EXAMPLE, MSDOS_EXAMPLE], LAYOUT_TOKENS),
  linesArb(
    ['[[partition]]', '[partition]', 'table = "gpt"', 'table = "msdos"'],
    ['table', 'label', 'size', 'fs', 'mount', 'flags', 'mkfs_options', 'x'],
    ['"gpt"', '"grow"', '"1MiB"', '"5%"', '"ext4"', '"swap"', '"/"', '["esp"]', '["bios_grub","boot"]', '1', 'true'],
  ),
)
const disk = fc.oneof(
  fc.constantFrom(0, 512, 1 << 20, 2 ** 40, Number.MAX_SAFE_INTEGER, -1, 1.5),
  fc.integer({ min: 0, max: 2 ** 42 }),
)

describe('fuzz: disk layout', () => {
  it('edited and generated layouts: parsed and resolved, or IMGSWARM_ERR_*', async () => {
    const r = await campaign('layout', fc.tuple(text, disk), async ([t, bytes]) => {
      let layout: ReturnType<typeof parseLayout> | undefined
      const parsed = await parserVerdict(() => {
        layout = parseLayout(t, 'fuzz.toml')
      })
      if (parsed !== 'accepted' || layout === undefined) return parsed
      const l = layout
      return parserVerdict(() => sfdiskScript(resolveLayout(l, bytes, '/dev/fuzz')))
    })
    expect(failures(r)).toEqual(CLEAN)
    expect(r.accepted).toBeGreaterThan(0)
    expect(r.refused).toBeGreaterThan(0)
  })
})
