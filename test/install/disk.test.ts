// One node, full install onto a real loop-device disk: partition table and
// file systems per the plan's layout, the tree in place and verified, fstab
// by UUID, identity, overrides, GRUB in the boot sector with a config, and
// the disk unmounted at the end.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { haveTools, loopDisk, scratchDir, sh } from '../disks/loop.ts'
import { storedEvents } from '../support/events.ts'
import { isRoot, tempDir } from '../support/tmp.ts'
import { type ImageServer, imageServer, installNode, nodeArgs } from './harness.ts'
import { describeTree, diffTrees } from './tree.ts'

const LAYOUT = `table = "gpt"
[[partition]]
label = "biosboot"
size = "1MiB"
flags = ["bios_grub"]
[[partition]]
label = "boot"
size = "96MiB"
fs = "ext4"
mount = "/boot"
[[partition]]
label = "swap"
size = "32MiB"
fs = "swap"
[[partition]]
label = "root"
size = "grow"
fs = "ext4"
mount = "/"
`
const PLANS = `
[defaults]
image = "base"
post = "none"
layout = "layout.toml"

[[node]]
hostname = "d1"
overrides = ["site", "d1"]
`
const OVERRIDES = [
  { name: 'site', files: { 'etc/motd': 'site motd\n' } },
  { name: 'd1', files: { 'etc/motd': 'd1 motd\n' } },
]

const missing = haveTools('sfdisk', 'mkfs.ext4', 'blkid', 'grub-install', 'losetup')
let server: ImageServer | undefined
afterEach(async () => {
  await server?.running.stop()
  server = undefined
})

describe.runIf(isRoot && missing.length === 0)('imgswarm install --disk (loop device)', () => {
  it('partitions, installs in place, writes fstab and identity, installs GRUB, and unmounts', async () => {
    const dir = await tempDir()
    const { dev } = await loopDisk(768 * 1024 * 1024)
    server = await imageServer(dir, {
      dataMb: 16,
      overrides: OVERRIDES,
      plans: PLANS,
      files: { 'layout.toml': LAYOUT },
    })
    const mnt = join(scratchDir(), 'target')
    const r = await installNode(
      nodeArgs({
        url: server.running.url,
        pubkey: server.pubkey,
        disk: dev,
        mountDir: mnt,
        hostname: 'd1',
        json: true,
      }),
    ).result
    expect(r.stderr).not.toMatch(/error/i)
    expect(r.status, r.stderr).toBe(0)
    // Unmounted at the end.
    expect(await readFile('/proc/self/mountinfo', 'utf8')).not.toContain(mnt)

    const table = JSON.parse(sh('sfdisk', ['--json', dev])) as {
      partitiontable: { label: string; partitions: { node: string; type: string; name?: string }[] }
    }
    expect(table.partitiontable.label).toBe('gpt')
    const parts = table.partitiontable.partitions
    expect(parts.map((p) => p.name)).toEqual(['biosboot', 'boot', 'swap', 'root'])
    expect(parts[0]?.type).toBe('21686148-6449-6E6F-744E-656564454649')
    const blk = (n: number, tag: string) => sh('blkid', ['-o', 'value', '-s', tag, `${dev}p${n}`]).trim()
    expect(blk(2, 'TYPE')).toBe('ext4')
    expect(blk(3, 'TYPE')).toBe('swap')
    expect(blk(4, 'TYPE')).toBe('ext4')

    // GRUB: its boot code in sector 0, its core image in the BIOS boot partition.
    const mbr = Buffer.from(sh('dd', [`if=${dev}`, 'bs=512', 'count=1', 'status=none']), 'latin1')
    expect(mbr.includes(Buffer.from('GRUB'))).toBe(true)

    const check = join(scratchDir(), 'check')
    sh('mkdir', ['-p', check])
    sh('mount', ['-o', 'ro', `${dev}p4`, check])
    sh('mount', ['-o', 'ro', `${dev}p2`, join(check, 'boot')])
    const skip = new Set([
      'etc/hostname',
      'etc/hosts',
      'etc/machine-id',
      'etc/motd',
      'etc/fstab',
      'etc/ssh',
      'etc/post-mark',
      // agent.json and node.key, the enrol step's (docs/agent.md).
      'etc/imgswarm',
    ])
    const want = await describeTree(join(dir, 'tree'), new Set([...skip, 'boot']))
    const got = await describeTree(check, new Set([...skip, 'boot', 'lost+found']))
    for (const t of [want, got]) {
      t.delete('etc')
      t.delete('')
    }
    expect(diffTrees(want, got)).toEqual([])
    const bootWant = await describeTree(join(dir, 'tree/boot'))
    const bootGot = await describeTree(join(check, 'boot'), new Set(['lost+found', 'grub']))
    expect(diffTrees(bootWant, bootGot)).toEqual([])

    const fstab = await readFile(join(check, 'etc/fstab'), 'utf8')
    expect(fstab).toContain(`UUID=${blk(4, 'UUID')} / ext4`)
    expect(fstab).toContain(`UUID=${blk(2, 'UUID')} /boot ext4`)
    expect(fstab).toContain(`UUID=${blk(3, 'UUID')} none swap`)
    expect(await readFile(join(check, 'etc/hostname'), 'utf8')).toBe('d1\n')
    expect(await readFile(join(check, 'etc/motd'), 'utf8')).toBe('d1 motd\n')
    const grubCfg = await readFile(join(check, 'boot/grub/grub.cfg'), 'utf8')
    expect(grubCfg).toContain(blk(4, 'UUID'))

    const steps = (await storedEvents(server.running.url, server.store.root, 'd1'))
      .filter((e) => e.percent === undefined)
      .map((e) => e.step)
    expect(steps).toEqual([
      'config',
      'disks',
      'download',
      'extract',
      'overrides',
      'identity',
      'bootloader',
      'done',
      'post',
    ])
  })

  it('refuses a disk too small for the layout before writing anything', async () => {
    const dir = await tempDir()
    const { dev, file } = await loopDisk(64 * 1024 * 1024)
    server = await imageServer(dir, { dataMb: 1, plans: PLANS, overrides: OVERRIDES, files: { 'layout.toml': LAYOUT } })
    const before = await readFile(file)
    const r = await installNode(
      nodeArgs({
        url: server.running.url,
        pubkey: server.pubkey,
        disk: dev,
        mountDir: join(scratchDir(), 'target'),
        hostname: 'd1',
      }),
    ).result
    expect(r.status).not.toBe(0)
    expect(r.stderr).toMatch(/IMGSWARM_ERR_DISK/)
    expect((await readFile(file)).equals(before)).toBe(true)
  })
})
