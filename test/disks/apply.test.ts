// applyLayout on real loop devices with the real sfdisk, mkfs and mount.
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { type AppliedDisk, applyLayout, fstabLines, mountAll } from '../../client/disks/index.ts'
import { parseLayout } from '../../common/layout/index.ts'
import { GPT_EXAMPLE } from '../layout/fixtures.ts'
import { isRoot } from '../support/tmp.ts'
import { haveTools, loopDisk, scratchDir, sh } from './loop.ts'

const GiB = 1024 ** 3
const missing = haveTools(
  'losetup',
  'sfdisk',
  'wipefs',
  'partx',
  'blkid',
  'mkfs.ext4',
  'mkfs.xfs',
  'mkfs.vfat',
  'mkswap',
  'findmnt',
  'lsblk',
)
const why = !isRoot
  ? 'not root'
  : missing.length > 0
    ? `missing ${missing.join(' ')} (scripts/install-deps.sh test)`
    : ''
if (why !== '') console.warn(`test/disks: skipped: ${why}`)

const GPT = parseLayout(`${GPT_EXAMPLE}mkfs_options = ["-O", "^metadata_csum_seed"]\n`, 'gpt.toml')

/** The kernel here may lack a file system (this VM's has no vfat): mount only what it can, and say so. */
function mountable(applied: AppliedDisk): AppliedDisk {
  const known = readFileSync('/proc/filesystems', 'utf8')
  const ok = (fs: string) => new RegExp(`\\s${fs}$`, 'm').test(known)
  const skipped = applied.resolved.partitions.filter((p) => p.mount !== undefined && !ok(p.fs))
  if (skipped.length > 0)
    console.warn(`not mounting ${skipped.map((p) => `${p.mount} (${p.fs})`).join(', ')}: kernel lacks it`)
  return {
    ...applied,
    resolved: {
      ...applied.resolved,
      partitions: applied.resolved.partitions.filter((p) => p.mount === undefined || ok(p.fs)),
    },
  }
}

describe.skipIf(why !== '')('applyLayout on a loop device', () => {
  it('GPT: bios_grub + esp (vfat) + swap + root (ext4, grow) on 2 GiB', async () => {
    const { dev } = await loopDisk(2 * GiB)
    const steps: string[] = []
    const applied = await applyLayout(dev, GPT, { onStep: (m) => steps.push(m) })
    expect(steps.at(-1)).toBe(`disk ${dev} ready`)

    const table = JSON.parse(sh('sfdisk', ['--json', dev])).partitiontable
    expect(table.label).toBe('gpt')
    expect(table.sectorsize ?? 512).toBe(512)
    const parts = table.partitions.map((p: Record<string, unknown>) => [p.node, p.start, p.size, p.type, p.name])
    expect(parts).toEqual([
      [`${dev}p1`, 2048, 2048, '21686148-6449-6E6F-744E-656564454649', 'biosboot'],
      [`${dev}p2`, 4096, 1048576, 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B', 'esp'],
      [`${dev}p3`, 1052672, 208896, '0657FD6D-A4AB-43C4-84E5-0933C84B4F4F', 'swap'],
      [`${dev}p4`, 1261568, 2930688, '0FC63DAF-8483-4772-8E79-3D69D8477DE4', 'root'],
    ])

    const probe = (node: string, tag: string) => sh('blkid', ['-p', '-s', tag, '-o', 'value', node]).trim()
    expect([probe(`${dev}p2`, 'TYPE'), probe(`${dev}p2`, 'LABEL')]).toEqual(['vfat', 'ESP'])
    expect([probe(`${dev}p3`, 'TYPE'), probe(`${dev}p3`, 'LABEL')]).toEqual(['swap', 'swap'])
    expect([probe(`${dev}p4`, 'TYPE'), probe(`${dev}p4`, 'LABEL')]).toEqual(['ext4', 'root'])
    expect(probe(`${dev}p1`, 'TYPE')).toBe('') // bios_grub holds no file system
    // mkfs_options reached mkfs.ext4.
    expect(sh('dumpe2fs', ['-h', `${dev}p4`])).not.toMatch(/features:.*metadata_csum_seed/)

    const uuid = (n: number) => applied.partitions[n - 1]?.uuid
    expect(uuid(4)).toBe(probe(`${dev}p4`, 'UUID'))
    expect(fstabLines(applied)).toEqual([
      `UUID=${probe(`${dev}p4`, 'UUID')} / ext4 defaults 0 1`,
      `UUID=${probe(`${dev}p2`, 'UUID')} /boot/efi vfat umask=0077 0 2`,
      `UUID=${probe(`${dev}p3`, 'UUID')} none swap sw 0 0`,
    ])

    const target = scratchDir()
    const m = await mountAll(mountable(applied), target)
    writeFileSync(join(target, 'hello'), 'from imgswarm\n')
    await m.unmountAll()
    await m.unmountAll() // idempotent
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(target)
    // The file is on the disk, not in the directory it was mounted on.
    const again = await mountAll(mountable(applied), target)
    expect(readFileSync(join(target, 'hello'), 'utf8')).toBe('from imgswarm\n')
    await again.unmountAll()
  })

  it('msdos: boot flag and an xfs root', async () => {
    const { dev } = await loopDisk(1 * GiB)
    const layout = parseLayout(
      JSON.stringify({
        table: 'msdos',
        partition: [
          { label: 'boot', size: '128MiB', fs: 'ext4', mount: '/boot', flags: ['boot'] },
          { label: 'root', size: 'grow', fs: 'xfs', mount: '/' },
        ],
      }),
      'msdos.json',
    )
    const applied = await applyLayout(dev, layout)
    const table = JSON.parse(sh('sfdisk', ['--json', dev])).partitiontable
    expect(table.label).toBe('dos')
    expect(
      table.partitions.map((p: Record<string, unknown>) => [p.start, p.size, p.type, p.bootable ?? false]),
    ).toEqual([
      [2048, 128 * 2048, '83', true],
      [129 * 2048, (1024 - 129) * 2048, '83', false],
    ])
    expect(sh('blkid', ['-p', '-s', 'TYPE', '-o', 'value', `${dev}p2`]).trim()).toBe('xfs')
    expect(sh('blkid', ['-p', '-s', 'LABEL', '-o', 'value', `${dev}p2`]).trim()).toBe('root')
    const target = scratchDir()
    const m = await mountAll(applied, target)
    expect(m.mounted).toEqual([target, join(target, 'boot')])
    writeFileSync(join(target, 'boot', 'vmlinuz'), 'k')
    await m.unmountAll()
    expect(fstabLines(applied)[1]).toMatch(/^UUID=[0-9a-f-]{36} \/boot ext4 defaults 0 2$/)
  })

  it('reapplies over an old layout, leaving no stale signatures', async () => {
    const { dev } = await loopDisk(1 * GiB)
    await applyLayout(dev, GPT)
    const data = parseLayout('table = "gpt"\n[[partition]]\nlabel = "data"\nsize = "grow"\nfs = "xfs"\n', 'data.toml')
    const applied = await applyLayout(dev, data)
    expect(applied.partitions).toHaveLength(1)
    expect(sh('blkid', ['-p', '-s', 'TYPE', '-o', 'value', `${dev}p1`]).trim()).toBe('xfs')
    expect(JSON.parse(sh('sfdisk', ['--json', dev])).partitiontable.partitions).toHaveLength(1)
  })

  it('refuses a symlink on the way to a mount point', async () => {
    const { dev } = await loopDisk(1 * GiB)
    const layout = parseLayout(
      'table = "gpt"\n[[partition]]\nlabel = "root"\nsize = "600MiB"\nfs = "ext4"\nmount = "/"\n[[partition]]\nlabel = "var"\nsize = "grow"\nfs = "ext4"\nmount = "/var/lib"\n',
      'x',
    )
    const applied = await applyLayout(dev, layout)
    const target = scratchDir()
    const m = await mountAll(applied, target)
    await m.unmountAll()
    // The root file system now has var/lib; make var a symlink out of the target.
    const elsewhere = scratchDir()
    sh('mount', [`${dev}p1`, elsewhere])
    sh('rm', ['-r', join(elsewhere, 'var')])
    sh('ln', ['-s', '/tmp', join(elsewhere, 'var')])
    sh('umount', [elsewhere])
    await expect(mountAll(applied, target)).rejects.toMatchObject({
      code: 'IMGSWARM_ERR_DISK',
      message: expect.stringContaining('symlink'),
    })
    // The root it mounted before refusing was unmounted again.
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(target)
  })
})
