// Kernel ordering, our grub.cfg, and the refusals that come before any tool
// runs. The refusals take an AppliedDisk computed from a layout (no block
// device is needed, since nothing is written); the real disk is in host-grub.test.ts.
import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { compareVersions, findKernels, grubCfg, installBootloader } from '../../client/bootloader/index.ts'
import type { AppliedDisk } from '../../client/disks/index.ts'
import { isImgswarmError } from '../../common/errors.ts'
import { parseLayout, partitionDevice, resolveLayout } from '../../common/layout/index.ts'
import { RUNS } from '../support/fuzz.ts'
import { tempDir } from '../support/tmp.ts'
import { LAYOUT } from './disk.ts'

function applied(layoutText: string | undefined): AppliedDisk {
  const layout = layoutText === undefined ? LAYOUT : parseLayout(layoutText, 'test.toml')
  const resolved = resolveLayout(layout, 2 ** 30, '/dev/sdz')
  return {
    device: '/dev/sdz',
    table: resolved.table,
    diskBytes: 2 ** 30,
    resolved,
    partitions: resolved.partitions.map((p) => ({
      ...p,
      device: partitionDevice('/dev/sdz', p.number),
      uuid: p.fs === 'none' ? undefined : `uuid-${p.number}`,
    })),
  }
}

async function refusal(p: Promise<unknown>, code: string): Promise<Error> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  )
  if (!isImgswarmError(e, code)) throw new Error(`expected ${code}, got ${e}`)
  return e
}

async function treeWithKernel(): Promise<string> {
  const t = await tempDir()
  mkdirSync(join(t, 'boot'))
  writeFileSync(join(t, 'boot/vmlinuz-6.1.0-10-amd64'), 'k')
  return t
}

describe('compareVersions (Debian order)', () => {
  it.each([
    ['6.1.0-10-amd64', '6.1.0-9-amd64', 1],
    ['6.10.0', '6.9.0', 1],
    ['6.1.0', '6.1.0', 0],
    ['6.1.0~rc1', '6.1.0', -1],
    ['6.1.0', '6.1.0+b1', -1],
    ['6.1.0a', '6.1.0+', -1],
    ['5.10.0-28-amd64', '6.1.0-1-amd64', -1],
  ])('%s vs %s: %i', (a, b, want) => {
    expect(compareVersions(a, b)).toBe(want)
    expect(compareVersions(b, a)).toBe(-want || 0)
  })

  it('property: antisymmetric and reflexive', () => {
    const v = fc.string({ unit: fc.constantFrom('1', '2', '0', '.', '-', '~', '+', 'a', 'b'), maxLength: 10 })
    fc.assert(
      fc.property(v, v, (a, b) => {
        expect(compareVersions(a, a)).toBe(0)
        expect(compareVersions(a, b)).toBe(-compareVersions(b, a) || 0)
      }),
      { numRuns: RUNS },
    )
  })
})

describe('findKernels and grubCfg', () => {
  it('newest first, initrd when present, links followed within the tree only', async () => {
    const t = await tempDir()
    mkdirSync(join(t, 'boot'))
    writeFileSync(join(t, 'boot/vmlinuz-6.1.0-9-amd64'), 'k')
    writeFileSync(join(t, 'boot/initrd.img-6.1.0-9-amd64'), 'i')
    writeFileSync(join(t, 'boot/vmlinuz-6.1.0-10-amd64'), 'k')
    writeFileSync(join(t, 'boot/vmlinuz-'), 'not a kernel name')
    symlinkSync('/etc/hostname', join(t, 'boot/vmlinuz-9.9.9')) // outside when read on the host: not in the tree
    mkdirSync(join(t, 'boot/vmlinuz-dir'))
    expect(await findKernels(t)).toEqual([
      { version: '6.1.0-10-amd64', kernel: '/boot/vmlinuz-6.1.0-10-amd64', initrd: undefined },
      { version: '6.1.0-9-amd64', kernel: '/boot/vmlinuz-6.1.0-9-amd64', initrd: '/boot/initrd.img-6.1.0-9-amd64' },
    ])
  })

  it('grub.cfg for a separate /boot on msdos: paths relative to /boot, search by its UUID', () => {
    const cfg = grubCfg({
      rootUuid: 'R',
      bootUuid: 'B',
      bootFs: 'xfs',
      separateBoot: true,
      table: 'msdos',
      kernels: [{ version: '6.1', kernel: '/boot/vmlinuz-6.1', initrd: '/boot/initrd.img-6.1' }],
    })
    expect(cfg).toContain('insmod part_msdos\ninsmod xfs\nsearch --no-floppy --fs-uuid --set=root B\n')
    expect(cfg).toContain('\tlinux /vmlinuz-6.1 root=UUID=R ro quiet\n\tinitrd /initrd.img-6.1\n')
  })
})

describe('installBootloader refuses before running anything', () => {
  it('a GPT layout with neither bios_grub nor an ESP', async () => {
    const t = await treeWithKernel()
    const d = applied('table = "gpt"\n[[partition]]\nlabel = "root"\nsize = "grow"\nfs = "ext4"\nmount = "/"\n')
    const e = await refusal(installBootloader(t, d), 'IMGSWARM_ERR_BOOTLOADER')
    expect(e.message).toMatch(/neither a bios_grub partition/)
  })

  it('an image without a kernel', async () => {
    const t = await tempDir()
    mkdirSync(join(t, 'boot'))
    const e = await refusal(installBootloader(t, applied(undefined)), 'IMGSWARM_ERR_BOOTLOADER')
    expect(e.message).toMatch(/no kernel/)
  })

  it("this machine's GRUB without the platform files names the Debian packages", async () => {
    const t = await treeWithKernel()
    const empty = await tempDir()
    const e = await refusal(
      installBootloader(t, applied(undefined), { grubLibDir: empty }),
      'IMGSWARM_ERR_BOOTLOADER_TOOL',
    )
    expect(e.message).toContain('GRUB for i386-pc')
    expect((e as Error & { hint: string }).hint).toBe('install it: apt-get install grub-pc-bin')
  })

  it('an image with grub-install but no grub-mkconfig, or no platform files', async () => {
    const t = await treeWithKernel()
    mkdirSync(join(t, 'usr/sbin'), { recursive: true })
    writeFileSync(join(t, 'usr/sbin/grub-install'), '#!/bin/sh\nexit 99\n')
    chmodSync(join(t, 'usr/sbin/grub-install'), 0o755)
    let e = await refusal(installBootloader(t, applied(undefined)), 'IMGSWARM_ERR_BOOTLOADER_TOOL')
    expect((e as Error & { hint: string }).hint).toMatch(/add the Debian packages grub2-common to the image/)
    writeFileSync(join(t, 'usr/sbin/grub-mkconfig'), '#!/bin/sh\nexit 99\n')
    chmodSync(join(t, 'usr/sbin/grub-mkconfig'), 0o755)
    mkdirSync(join(t, 'usr/lib/grub/i386-pc'), { recursive: true })
    writeFileSync(join(t, 'usr/lib/grub/i386-pc/modinfo.sh'), '')
    e = await refusal(installBootloader(t, applied(undefined)), 'IMGSWARM_ERR_BOOTLOADER_TOOL')
    expect(e.message).toContain('GRUB for x86_64-efi (/usr/lib/grub/x86_64-efi) is missing in the image')
  })

  it('an ESP without a mount point', async () => {
    const t = await treeWithKernel()
    const d = applied(
      'table = "gpt"\n[[partition]]\nlabel = "esp"\nsize = "100MiB"\nfs = "vfat"\nflags = ["esp"]\n[[partition]]\nlabel = "root"\nsize = "grow"\nfs = "ext4"\nmount = "/"\n',
    )
    const e = await refusal(installBootloader(t, d), 'IMGSWARM_ERR_BOOTLOADER')
    expect(e.message).toMatch(/ESP has no mount point/)
  })
})
