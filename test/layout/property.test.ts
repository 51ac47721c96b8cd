// Property tests: whatever the text, parseLayout either returns a Layout or
// throws an ImgswarmError (never a TypeError from a value it did not expect);
// valid layouts print and read back to the same thing; resolved layouts are
// aligned, in order, inside the disk.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { isImgswarmError } from '../../common/errors.ts'
import {
  FS_TYPES,
  type FsType,
  formatLayout,
  LABEL_MAX,
  type Layout,
  type PartitionSpec,
  parseLayout,
  resolveLayout,
  type Size,
} from '../../common/layout/index.ts'
import { RUNS } from '../support/fuzz.ts'

function parsesOrRefuses(text: string): void {
  try {
    parseLayout(text, 'fuzz.toml')
  } catch (e) {
    if (!isImgswarmError(e)) throw e
    expect(e.message.startsWith('disk layout fuzz.toml: ')).toBe(true)
  }
}

const KEYS = ['table', 'partition', 'label', 'size', 'fs', 'mount', 'flags', 'mkfs_options', 'x']
const WORDS = [
  'gpt',
  'msdos',
  'grow',
  '1MiB',
  '5%',
  '100%',
  'ext4',
  'xfs',
  'vfat',
  'swap',
  'none',
  '/',
  '/boot',
  'esp',
  'bios_grub',
  'boot',
  'root',
]
const value = fc.oneof(fc.constantFrom(...WORDS), fc.anything({ maxDepth: 2 }), fc.array(fc.constantFrom(...WORDS)))
const partLike = fc.dictionary(fc.constantFrom(...KEYS), value, { maxKeys: 7 })
const docLike = fc.record(
  {
    table: fc.oneof(fc.constantFrom('gpt', 'msdos'), value),
    partition: fc.oneof(fc.array(partLike, { maxLength: 6 }), value),
  },
  { requiredKeys: [] },
)

describe('parseLayout (properties)', () => {
  it('random text: a Layout or an ImgswarmError, nothing else', () => {
    fc.assert(fc.property(fc.string({ maxLength: 400 }), parsesOrRefuses), { numRuns: RUNS })
  })

  it('random TOML-ish lines built from the vocabulary', () => {
    const line = fc.oneof(
      fc.constant('[[partition]]'),
      fc.constant('[partition]'),
      fc
        .tuple(
          fc.constantFrom(...KEYS),
          fc.constantFrom(...WORDS.map((w) => JSON.stringify(w)), '1', 'true', '[]', '["esp"]', '1979-05-27'),
        )
        .map(([k, v]) => `${k} = ${v}`),
    )
    fc.assert(
      fc.property(fc.array(line, { maxLength: 20 }), (lines) => parsesOrRefuses(lines.join('\n'))),
      { numRuns: RUNS },
    )
  })

  it('random JSON documents of roughly the right shape', () => {
    fc.assert(
      fc.property(docLike, (doc) => parsesOrRefuses(JSON.stringify(doc))),
      { numRuns: RUNS },
    )
  })

  it('valid layouts round-trip through TOML and JSON', () => {
    fc.assert(
      fc.property(validLayout, (layout) => {
        expect(parseLayout(formatLayout(layout), 'a.toml')).toEqual(layout)
        expect(parseLayout(JSON.stringify(toJson(layout)), 'a.json')).toEqual(layout)
      }),
      { numRuns: RUNS },
    )
  })

  it('resolved layouts are aligned, ordered and inside the disk, or the disk is refused', () => {
    const disk = fc.integer({ min: 0, max: 4 * 1024 ** 4 })
    fc.assert(
      fc.property(validLayout, disk, (layout, bytes) => {
        let r: ReturnType<typeof resolveLayout>
        try {
          r = resolveLayout(layout, bytes)
        } catch (e) {
          expect(isImgswarmError(e, 'IMGSWARM_ERR_DISK_TOO_SMALL') || isImgswarmError(e, 'IMGSWARM_ERR_LAYOUT')).toBe(
            true,
          )
          return
        }
        let next = 2048
        for (const p of r.partitions) {
          expect(p.startSector).toBe(next)
          expect(p.sizeSectors % 2048).toBe(0)
          expect(p.sizeSectors).toBeGreaterThan(0)
          next = p.startSector + p.sizeSectors
        }
        const reserve = layout.table === 'gpt' ? 33 : 0
        expect(next).toBeLessThanOrEqual(Math.floor(bytes / 512) - reserve)
      }),
      { numRuns: RUNS },
    )
  })
})

const labelChars = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-'.split(''))
const fixedSize: fc.Arbitrary<Size> = fc.oneof(
  fc.record({ unit: fc.constant('MiB' as const), value: fc.integer({ min: 1, max: 1_000_000 }) }),
  fc.record({ unit: fc.constant('GiB' as const), value: fc.integer({ min: 1, max: 4096 }) }),
  fc.record({ unit: fc.constant('%' as const), value: fc.integer({ min: 1, max: 12 }) }), // 8 x 12 stays under 100%
)
const option = fc.stringMatching(/^-?[A-Za-z0-9^=,._:+-]{1,20}$/)
const partSeed = fc.record({
  fs: fc.constantFrom(...FS_TYPES),
  suffix: fc.array(labelChars, { maxLength: 14 }),
  size: fixedSize,
  mount: fc.option(
    fc.array(
      fc.stringMatching(/^[a-z0-9._@+-]{1,8}$/).filter((s) => s !== '.' && s !== '..'),
      { maxLength: 3 },
    ),
  ),
  flag: fc.constantFrom('none', 'esp', 'bios_grub', 'boot'),
  opts: fc.array(option, { maxLength: 4 }),
})

const validLayout: fc.Arbitrary<Layout> = fc
  .record({
    table: fc.constantFrom('gpt' as const, 'msdos' as const),
    seeds: fc.array(partSeed, { minLength: 1, maxLength: 8 }),
    grow: fc.nat(),
  })
  .map(({ table, seeds, grow }) => {
    const list = seeds.slice(0, table === 'msdos' ? 4 : 8)
    const used = new Set<string>()
    const partitions = list.map((s, i): PartitionSpec => {
      const fs: FsType = s.fs
      const max = Math.min(LABEL_MAX[fs], table === 'gpt' ? LABEL_MAX.gpt : 16)
      const p: PartitionSpec = {
        label: `p${i}${s.suffix.join('')}`.slice(0, max),
        size: i === grow % (list.length + 1) ? { unit: 'grow' } : s.size,
        fs,
        flags: [],
        mkfsOptions: fs === 'none' ? [] : s.opts,
      }
      // Index-first components keep mount points unique.
      if ((fs === 'ext4' || fs === 'xfs' || fs === 'vfat') && s.mount !== null)
        p.mount = `/d${i}${s.mount.map((c) => `/${c}`).join('')}`
      const flag = s.flag
      const fits =
        flag === 'esp' ? fs === 'vfat' : flag === 'bios_grub' ? table === 'gpt' && fs === 'none' : flag === 'boot'
      if (fits && !used.has(flag)) {
        used.add(flag)
        p.flags.push(flag as 'esp' | 'bios_grub' | 'boot')
      }
      return p
    })
    // A layout that mounts anything needs "/" on ext4 or xfs.
    const rootable = partitions.find((p) => p.mount !== undefined && p.fs !== 'vfat')
    if (rootable !== undefined) rootable.mount = '/'
    else for (const p of partitions) delete p.mount
    return { table, partitions }
  })

function toJson(layout: Layout): unknown {
  return {
    table: layout.table,
    partition: layout.partitions.map((p) => ({
      label: p.label,
      size: p.size.unit === 'grow' ? 'grow' : `${p.size.value}${p.size.unit}`,
      fs: p.fs,
      ...(p.mount === undefined ? {} : { mount: p.mount }),
      flags: p.flags,
      mkfs_options: p.mkfsOptions,
    })),
  }
}
