// One example per layout rule: each bad file must be refused with a message
// that names the file, the partition and the field, and says what is allowed.
import { describe, expect, it } from 'vitest'
import { isImgswarmError } from '../../common/errors.ts'
import { parseLayout } from '../../common/layout/index.ts'

const FILE = 'site/layout.toml'

/** A [[partition]] block from key = value pairs (values already TOML). */
function part(fields: Record<string, string>): string {
  return `[[partition]]\n${Object.entries(fields)
    .map(([k, v]) => `${k} = ${v}`)
    .join('\n')}\n`
}
const root = part({ label: '"root"', size: '"grow"', fs: '"ext4"', mount: '"/"' })
const gpt = (...parts: string[]) => `table = "gpt"\n${parts.join('')}`
const msdos = (...parts: string[]) => `table = "msdos"\n${parts.join('')}`

function refuses(text: string, ...fragments: (string | RegExp)[]): void {
  let thrown: unknown
  try {
    parseLayout(text, FILE)
  } catch (e) {
    thrown = e
  }
  expect(isImgswarmError(thrown, 'IMGSWARM_ERR_LAYOUT'), String(thrown)).toBe(true)
  const msg = (thrown as Error).message
  expect(msg).toContain(`disk layout ${FILE}: `)
  for (const f of fragments) {
    if (typeof f === 'string') expect(msg).toContain(f)
    else expect(msg).toMatch(f)
  }
}

describe('parseLayout: the example from the docs', () => {
  it('reads every field', () => {
    const layout = parseLayout(
      gpt(
        part({ label: '"biosboot"', size: '"1MiB"', flags: '["bios_grub"]' }),
        part({ label: '"esp"', size: '"512MiB"', fs: '"vfat"', mount: '"/boot/efi"', flags: '["esp"]' }),
        part({ label: '"swap"', size: '"5%"', fs: '"swap"' }),
        part({
          label: '"root"',
          size: '"grow"',
          fs: '"ext4"',
          mount: '"/"',
          mkfs_options: '["-O", "^metadata_csum_seed"]',
        }),
      ),
      FILE,
    )
    expect(layout).toEqual({
      table: 'gpt',
      partitions: [
        { label: 'biosboot', size: { unit: 'MiB', value: 1 }, fs: 'none', flags: ['bios_grub'], mkfsOptions: [] },
        {
          label: 'esp',
          size: { unit: 'MiB', value: 512 },
          fs: 'vfat',
          mount: '/boot/efi',
          flags: ['esp'],
          mkfsOptions: [],
        },
        { label: 'swap', size: { unit: '%', value: 5 }, fs: 'swap', flags: [], mkfsOptions: [] },
        {
          label: 'root',
          size: { unit: 'grow' },
          fs: 'ext4',
          mount: '/',
          flags: [],
          mkfsOptions: ['-O', '^metadata_csum_seed'],
        },
      ],
    })
  })

  it('reads the same structure as JSON', () => {
    const json = JSON.stringify({
      table: 'msdos',
      partition: [
        { label: 'boot', size: '1GiB', fs: 'ext4', mount: '/boot', flags: ['boot'] },
        { label: 'root', size: 'grow', fs: 'xfs', mount: '/' },
      ],
    })
    const layout = parseLayout(json, 'layout.json')
    expect(layout.table).toBe('msdos')
    expect(layout.partitions.map((p) => [p.label, p.size, p.fs, p.mount, p.flags])).toEqual([
      ['boot', { unit: 'GiB', value: 1 }, 'ext4', '/boot', ['boot']],
      ['root', { unit: 'grow' }, 'xfs', '/', []],
    ])
  })
})

describe('parseLayout: the file as a whole', () => {
  it('bad TOML', () => refuses('table = "gpt\n', 'not valid TOML'))
  it('bad JSON', () => refuses('{"table": "gpt",}', 'not valid JSON'))
  it('unknown top-level key', () =>
    refuses(
      `${gpt(root)}`.replace('table', 'tabel = 1\ntable'),
      'unknown key "tabel" at the top level',
      'allowed: table, partition',
    ))
  it('table missing', () => refuses(root, '"table" is missing'))
  it('table not gpt/msdos', () => refuses(`table = "mbr"\n${root}`, '"table" must be "gpt" or "msdos" (got "mbr")'))
  it('no partitions', () => refuses('table = "gpt"\n', 'no [[partition]] entries'))
  it('empty partition array', () => refuses('table = "gpt"\npartition = []\n', 'no [[partition]] entries'))
  it('partition not an array', () => refuses('table = "gpt"\n[partition]\nlabel = "x"\n', 'must be an array of tables'))
  it('too many partitions', () => {
    const many = Array.from({ length: 129 }, (_, i) => part({ label: `"p${i}"`, size: '"1MiB"' }))
    refuses(gpt(...many), '129 partitions; at most 128')
  })
  it('msdos: more than 4 partitions (no logical partitions)', () => {
    const five = Array.from({ length: 5 }, (_, i) => part({ label: `"p${i}"`, size: '"1MiB"' }))
    refuses(msdos(...five), 'at most 4 primary partitions', 'logical partitions are not supported', 'use table = "gpt"')
  })
})

describe('parseLayout: partition fields', () => {
  it('entry not a table', () =>
    refuses('table = "gpt"\npartition = [1]\n', '[[partition]] 1 must be a table of fields'))
  it('unknown partition key', () =>
    refuses(
      gpt(part({ label: '"root"', size: '"grow"', mountpoint: '"/"' })),
      '[[partition]] 1 ("root")',
      'unknown key "mountpoint"',
      'allowed: label, size, fs, mount, flags, mkfs_options',
    ))
  it('fs unknown', () =>
    refuses(
      gpt(part({ label: '"r"', size: '"grow"', fs: '"ext3"' })),
      '"fs" must be one of ext4, xfs, vfat, swap, none (got "ext3")',
    ))
  it('label missing', () => refuses(gpt(part({ size: '"grow"' })), '[[partition]] 1: "label" is missing'))
  it('label not a string', () => refuses(gpt(part({ label: '7', size: '"grow"' })), '"label" must be a string (got 7)'))
  it('label empty', () => refuses(gpt(part({ label: '""', size: '"grow"' })), '"label" "" must not be empty'))
  it('label with unsafe characters', () =>
    refuses(
      gpt(part({ label: '"my root"', size: '"grow"' })),
      '"label" "my root" may contain only letters A-Z a-z, digits, "_" and "-"',
    ))
  it('label too long for a GPT name', () =>
    refuses(
      gpt(part({ label: '"abcdefghijklmnopq"', size: '"grow"' })),
      'is 17 characters; a GPT partition name here holds at most 16',
    ))
  it('label too long for ext4 (msdos)', () =>
    refuses(
      msdos(part({ label: '"abcdefghijklmnopq"', size: '"grow"', fs: '"ext4"' })),
      'an ext4 file system label holds at most 16',
    ))
  it('label too long for xfs', () =>
    refuses(
      gpt(part({ label: '"abcdefghijklm"', size: '"grow"', fs: '"xfs"' })),
      'is 13 characters; an xfs file system label holds at most 12',
    ))
  it('label too long for vfat', () =>
    refuses(
      gpt(part({ label: '"abcdefghijkl"', size: '"1GiB"', fs: '"vfat"' })),
      'is 12 characters; a vfat file system label holds at most 11',
    ))
  it('size missing', () => refuses(gpt(part({ label: '"r"' })), '"size" is missing'))
  for (const bad of [
    '"512MB"',
    '"1.5GiB"',
    '"0MiB"',
    '"101%"',
    '"0%"',
    '"-1MiB"',
    '"1 GiB"',
    '"grow "',
    '512',
    '"1048577GiB"',
    '"010MiB"',
  ]) {
    it(`size ${bad} refused`, () =>
      refuses(
        gpt(part({ label: '"r"', size: bad })),
        '[[partition]] 1 ("r"): "size" must be a whole number followed by MiB or GiB',
      ))
  }
  it('mount not a string', () =>
    refuses(
      gpt(part({ label: '"r"', size: '"grow"', fs: '"ext4"', mount: 'true' })),
      '"mount" must be a string (got true)',
    ))
  it('mount on swap', () =>
    refuses(
      gpt(part({ label: '"s"', size: '"1GiB"', fs: '"swap"', mount: '"/swap"' })),
      '"mount" is only allowed with fs = ext4, xfs or vfat (this one is swap)',
    ))
  it('mount on fs = none', () => refuses(gpt(part({ label: '"n"', size: '"1GiB"', mount: '"/"' })), 'this one is none'))
  it('mount relative', () =>
    refuses(
      gpt(part({ label: '"r"', size: '"grow"', fs: '"ext4"', mount: '"boot"' })),
      '"mount" "boot" must be an absolute path',
    ))
  it('mount with trailing slash', () =>
    refuses(gpt(part({ label: '"r"', size: '"grow"', fs: '"ext4"', mount: '"/boot/"' })), 'must not end with "/"'))
  it('mount with //', () =>
    refuses(gpt(part({ label: '"r"', size: '"grow"', fs: '"ext4"', mount: '"/boot//efi"' })), 'must not contain "//"'))
  it('mount with ..', () =>
    refuses(
      gpt(part({ label: '"r"', size: '"grow"', fs: '"ext4"', mount: '"/boot/../etc"' })),
      'must not contain "." or ".." components',
    ))
  it('mount with .', () =>
    refuses(
      gpt(part({ label: '"r"', size: '"grow"', fs: '"ext4"', mount: '"/./boot"' })),
      'must not contain "." or ".." components',
    ))
  it('mount with a space', () =>
    refuses(
      gpt(part({ label: '"r"', size: '"grow"', fs: '"ext4"', mount: '"/my data"' })),
      'may contain only letters, digits',
    ))
  it('flags not an array', () =>
    refuses(
      gpt(part({ label: '"e"', size: '"1GiB"', fs: '"vfat"', flags: '"esp"' })),
      '"flags" must be an array such as ["esp"]',
    ))
  it('unknown flag', () =>
    refuses(
      gpt(part({ label: '"e"', size: '"1GiB"', flags: '["legacy_boot"]' })),
      '"flags" may hold only bios_grub, esp, boot (got "legacy_boot")',
    ))
  it('flag twice', () =>
    refuses(gpt(part({ label: '"e"', size: '"1GiB"', flags: '["boot", "boot"]' })), 'lists "boot" twice'))
  it('bios_grub on msdos', () =>
    refuses(
      msdos(part({ label: '"b"', size: '"1MiB"', flags: '["bios_grub"]' })),
      '"bios_grub" exists only on gpt tables',
    ))
  it('bios_grub with a file system', () =>
    refuses(
      gpt(part({ label: '"b"', size: '"1GiB"', fs: '"ext4"', flags: '["bios_grub"]' })),
      'set fs = "none" (got ext4)',
    ))
  it('esp without vfat', () =>
    refuses(gpt(part({ label: '"e"', size: '"1GiB"', fs: '"ext4"', flags: '["esp"]' })), '"esp" requires fs = "vfat"'))
  const opt = (v: string, fs = '"ext4"') => gpt(part({ label: '"r"', size: '"grow"', fs, mkfs_options: v }))
  it('mkfs_options not an array', () => refuses(opt('"-O ^has_journal"'), '"mkfs_options" must be an array of strings'))
  it('mkfs_options with fs = none', () => refuses(opt('["-q"]', '"none"'), 'makes no sense with fs = "none"'))
  it('mkfs_options too many', () => refuses(opt(JSON.stringify(Array(33).fill('-q'))), 'at most 32 arguments'))
  it('mkfs_options non-string', () => refuses(opt('["-b", 4096]'), 'must hold only strings (got 4096)'))
  it('mkfs_options empty string', () => refuses(opt('[""]'), 'must not be empty strings'))
  it('mkfs_options control character', () => refuses(opt('["-q\\n-F"]'), 'must not contain control characters'))
  it('mkfs_options naming a device', () => refuses(opt('["-J", "device=/dev/sdb"]'), 'must not contain "/"'))
})

describe('parseLayout: rules across partitions', () => {
  const sized = (label: string, size: string, extra: Record<string, string> = {}) =>
    part({ label: `"${label}"`, size: `"${size}"`, ...extra })
  it('two grow partitions', () =>
    refuses(
      gpt(sized('a', 'grow'), sized('b', 'grow')),
      '"grow" is allowed on one partition only',
      '[[partition]] 1 ("a") and [[partition]] 2 ("b")',
    ))
  it('percentages over 100', () => refuses(gpt(sized('a', '60%'), sized('b', '50%')), 'the % sizes add up to 110%'))
  it('duplicate label, any case', () =>
    refuses(
      gpt(sized('data', '1GiB'), sized('DATA', '1GiB')),
      '[[partition]] 2 ("DATA"): "label" repeats the label of [[partition]] 1 ("data")',
    ))
  it('duplicate mount point', () =>
    refuses(
      gpt(
        root,
        sized('a', '1GiB', { fs: '"ext4"', mount: '"/srv"' }),
        sized('b', '1GiB', { fs: '"ext4"', mount: '"/srv"' }),
      ),
      '"mount" /srv is already used by [[partition]] 2 ("a")',
    ))
  it('mounts but no root', () =>
    refuses(gpt(sized('a', '1GiB', { fs: '"ext4"', mount: '"/srv"' })), 'no partition is mounted at "/"'))
  it('root on vfat', () =>
    refuses(gpt(sized('r', '1GiB', { fs: '"vfat"', mount: '"/"' })), '"/" must be ext4 or xfs, not vfat'))
  it('esp twice', () =>
    refuses(
      gpt(
        sized('e1', '100MiB', { fs: '"vfat"', flags: '["esp"]' }),
        sized('e2', '100MiB', { fs: '"vfat"', flags: '["esp"]' }),
      ),
      'flag "esp" is set on [[partition]] 1 ("e1") and [[partition]] 2 ("e2"); at most one',
    ))
  it('no mounts at all is fine (a data disk)', () => {
    expect(parseLayout(gpt(sized('data', 'grow', { fs: '"xfs"' })), FILE).partitions[0]?.mount).toBeUndefined()
  })
})
