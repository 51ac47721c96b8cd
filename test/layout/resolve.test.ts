// Placing layouts on disks of a given size, and what comes out of it.
import { describe, expect, it } from 'vitest'
import { isImgswarmError } from '../../common/errors.ts'
import {
  GPT_TYPE,
  mountOrder,
  parseLayout,
  partitionDevice,
  resolveLayout,
  sfdiskScript,
} from '../../common/layout/index.ts'
import { GPT_EXAMPLE as EXAMPLE } from './fixtures.ts'

const MiB = 1024 * 1024
const GiB = 1024 * MiB

describe('resolveLayout', () => {
  it('aligns to 1 MiB, starts at 1 MiB, takes % of the disk, grows into the rest and keeps the GPT backup free', () => {
    const r = resolveLayout(parseLayout(EXAMPLE, 'x'), 2 * GiB)
    expect(r.partitions.map((p) => [p.number, p.startSector, p.sizeSectors, p.type])).toEqual([
      [1, 2048, 2048, GPT_TYPE.biosBoot],
      [2, 4096, 512 * 2048, GPT_TYPE.esp],
      [3, 4096 + 512 * 2048, 102 * 2048, GPT_TYPE.linuxSwap], // 5% of 2048 MiB = 102.4, rounded down
      [4, 616 * 2048, (2047 - 616) * 2048, GPT_TYPE.linuxData], // ends at the last whole MiB before the backup GPT,
    ])
    const last = r.partitions.at(-1)!
    expect((2 * GiB) / 512 - (last.startSector + last.sizeSectors)).toBeGreaterThanOrEqual(33)
    expect(r.devicePattern).toBe('{disk}{p}{n}')
  })

  it('msdos uses the disk up to its last whole MiB', () => {
    const l = parseLayout(
      'table = "msdos"\n[[partition]]\nlabel = "root"\nsize = "grow"\nfs = "ext4"\nmount = "/"\n',
      'x',
    )
    const r = resolveLayout(l, 100 * MiB + 4096)
    expect(r.partitions[0]).toMatchObject({ startSector: 2048, sizeSectors: 99 * 2048, type: '83' })
  })

  it('refuses a disk that is too small, saying how much is needed', () => {
    const l = parseLayout(EXAMPLE, 'x')
    let e: unknown
    try {
      resolveLayout(l, 500 * MiB, '/dev/sdz')
    } catch (err) {
      e = err
    }
    expect(isImgswarmError(e, 'IMGSWARM_ERR_DISK_TOO_SMALL')).toBe(true)
    // 1 + 512 + 25 (5% of 500) fixed, 2 for the smallest ext4, 2 for the head MiB and the GPT backup.
    expect((e as Error).message).toBe('/dev/sdz: disk too small: needs 542 MiB, has 500 MiB')
  })

  it('fits exactly at the size it says it needs', () => {
    const l = parseLayout('table = "gpt"\n[[partition]]\nlabel = "a"\nsize = "10MiB"\n', 'x')
    expect(() => resolveLayout(l, 11 * MiB)).toThrow('needs 12 MiB, has 11 MiB')
    expect(resolveLayout(l, 12 * MiB).partitions[0]?.sizeSectors).toBe(10 * 2048)
  })

  it('refuses a % size that comes out too small for its file system', () => {
    const l = parseLayout('table = "gpt"\n[[partition]]\nlabel = "data"\nsize = "10%"\nfs = "xfs"\n', 'x')
    expect(() => resolveLayout(l, GiB)).toThrow(
      'size "10%" comes to 102 MiB on this 1024 MiB disk; xfs needs at least 300 MiB',
    )
  })

  it('refuses a nonsense disk size', () => {
    expect(() => resolveLayout(parseLayout(EXAMPLE, 'x'), -1)).toThrow(/not a whole number of bytes/)
  })
})

describe('sfdiskScript', () => {
  it('writes labels, types, names; deterministic', () => {
    const r = resolveLayout(parseLayout(EXAMPLE, 'x'), 2 * GiB)
    expect(sfdiskScript(r)).toBe(`label: gpt
unit: sectors
sector-size: 512
first-lba: 2048

start=2048, size=2048, type=21686148-6449-6E6F-744E-656564454649, name="biosboot"
start=4096, size=1048576, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name="esp"
start=1052672, size=208896, type=0657FD6D-A4AB-43C4-84E5-0933C84B4F4F, name="swap"
start=1261568, size=2930688, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name="root"
`)
    expect(sfdiskScript(r)).toBe(sfdiskScript(resolveLayout(parseLayout(EXAMPLE, 'x'), 2 * GiB)))
  })

  it('msdos: MBR codes and the bootable mark; gpt boot flag becomes LegacyBIOSBootable', () => {
    const text = (table: string) => `table = "${table}"
[[partition]]
label = "boot"
size = "512MiB"
fs = "ext4"
mount = "/boot"
flags = ["boot"]
[[partition]]
label = "swap"
size = "1GiB"
fs = "swap"
[[partition]]
label = "efi"
size = "100MiB"
fs = "vfat"
flags = ["esp"]
[[partition]]
label = "root"
size = "grow"
fs = "xfs"
mount = "/"
`
    const dos = sfdiskScript(resolveLayout(parseLayout(text('msdos'), 'x'), 4 * GiB))
    expect(dos.split('\n').slice(0, 3)).toEqual(['label: dos', 'unit: sectors', 'sector-size: 512'])
    expect(dos).toContain('start=2048, size=1048576, type=83, bootable\n')
    expect(dos).toContain('type=82\n')
    expect(dos).toContain('type=ef\n')
    expect(dos).not.toContain('name=')
    const g = sfdiskScript(resolveLayout(parseLayout(text('gpt'), 'x'), 4 * GiB))
    expect(g).toContain('name="boot", attrs="LegacyBIOSBootable"\n')
  })
})

describe('mountOrder and partitionDevice', () => {
  it('puts parents first', () => {
    const text = `table = "gpt"
${['/var/lib/x', '/boot/efi', '/var', '/', '/boot', '/home']
  .map(
    (m, i) =>
      `[[partition]]\nlabel = "p${i}"\nsize = "1GiB"\nfs = "${m === '/boot/efi' ? 'vfat' : 'ext4'}"\nmount = "${m}"\n`,
  )
  .join('')}`
    const order = mountOrder(resolveLayout(parseLayout(text, 'x'), 10 * GiB)).map((p) => p.mount)
    expect(order).toEqual(['/', '/boot', '/home', '/var', '/boot/efi', '/var/lib/x'])
  })

  it('names partition nodes the way the kernel does', () => {
    expect(partitionDevice('/dev/sda', 2)).toBe('/dev/sda2')
    expect(partitionDevice('/dev/loop7', 1)).toBe('/dev/loop7p1')
    expect(partitionDevice('/dev/nvme0n1', 3)).toBe('/dev/nvme0n1p3')
  })
})
