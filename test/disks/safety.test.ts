// Every refusal happens before a byte is written: one test per way a wrong
// disk could be handed to applyLayout.
import { createHash } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { applyLayout, type CommandRunner, checkDisk, createCommandRunner } from '../../client/disks/index.ts'
import { parseLayout } from '../../common/layout/index.ts'
import { isRoot } from '../support/tmp.ts'
import { haveTools, loopDisk, scratchDir, sh } from './loop.ts'

const missing = haveTools('losetup', 'sfdisk', 'wipefs', 'partx', 'blkid', 'mkfs.ext4', 'mkfs.xfs', 'findmnt', 'lsblk')
const why = !isRoot ? 'not root' : missing.length > 0 ? `missing ${missing.join(' ')}` : ''

const SIMPLE = parseLayout(
  'table = "gpt"\n[[partition]]\nlabel = "root"\nsize = "grow"\nfs = "ext4"\nmount = "/"\n',
  'simple.toml',
)
const BIG = parseLayout(
  'table = "gpt"\n[[partition]]\nlabel = "esp"\nsize = "512MiB"\nfs = "vfat"\nflags = ["esp"]\n[[partition]]\nlabel = "root"\nsize = "grow"\nfs = "ext4"\nmount = "/"\n',
  'big.toml',
)

/** Runs only the read-only tools; anything that could write fails the test loudly. */
function readOnlyRunner(): CommandRunner & { calls: string[] } {
  const real = createCommandRunner()
  const calls: string[] = []
  return {
    calls,
    run(tool, args, opts) {
      calls.push(tool)
      if (tool !== 'findmnt' && tool !== 'lsblk') throw new Error(`test guard: ${tool} would have run`)
      return real.run(tool, args, opts)
    },
  }
}

const digest = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex')

/** A loop disk whose first 2 MiB hold a pattern, so "unchanged" means something. */
async function markedDisk(bytes: number) {
  const d = await loopDisk(bytes)
  sh('dd', ['if=/dev/urandom', `of=${d.dev}`, 'bs=1M', 'count=2', 'conv=fsync', 'status=none'])
  return { ...d, before: digest(d.file) }
}

describe.skipIf(why !== '')('applyLayout refuses before writing', () => {
  it('a disk too small for the layout', async () => {
    const d = await markedDisk(64 * 1024 * 1024)
    const run = readOnlyRunner()
    await expect(applyLayout(d.dev, BIG, { run })).rejects.toMatchObject({
      code: 'IMGSWARM_ERR_DISK_TOO_SMALL',
      message: `${d.dev}: disk too small: needs 516 MiB, has 64 MiB`,
    })
    expect(run.calls).toEqual([])
    expect(digest(d.file)).toBe(d.before)
  })

  it('a layout whose % size is too small for its file system on this disk', async () => {
    const d = await markedDisk(256 * 1024 * 1024)
    const layout = parseLayout('table = "gpt"\n[[partition]]\nlabel = "data"\nsize = "10%"\nfs = "xfs"\n', 'x.toml')
    await expect(applyLayout(d.dev, layout, { run: readOnlyRunner() })).rejects.toMatchObject({
      code: 'IMGSWARM_ERR_LAYOUT',
      message: expect.stringContaining('xfs needs at least 300 MiB'),
    })
    expect(digest(d.file)).toBe(d.before)
  })

  it('a bad layout file never gets as far as a disk', () => {
    expect(() => parseLayout('table = "gpt"\n[[partition]]\nlabel = "r"\nsize = "10GB"\n', 'bad.toml')).toThrow(
      /disk layout bad.toml: \[\[partition\]\] 1 \("r"\): "size" must be/,
    )
  })

  it('a disk with a mounted partition', async () => {
    const { dev } = await loopDisk(256 * 1024 * 1024)
    await applyLayout(dev, SIMPLE)
    const table = sh('sfdisk', ['--json', dev])
    const dir = scratchDir()
    sh('mount', [`${dev}p1`, dir])
    writeFileSync(join(dir, 'keep'), 'me')
    const run = readOnlyRunner()
    await expect(applyLayout(dev, SIMPLE, { run })).rejects.toMatchObject({
      code: 'IMGSWARM_ERR_DISK_IN_USE',
      message: `${dev} is in use: ${dev}p1 is mounted on ${dir}; nothing was written`,
    })
    expect(run.calls.every((t) => t === 'findmnt' || t === 'lsblk')).toBe(true)
    expect(sh('sfdisk', ['--json', dev])).toBe(table)
    expect(readFileSync(join(dir, 'keep'), 'utf8')).toBe('me')
  })

  it('a regular file', async () => {
    const { file } = await loopDisk(64 * 1024 * 1024)
    const before = digest(file)
    await expect(applyLayout(file, SIMPLE, { run: readOnlyRunner() })).rejects.toMatchObject({
      code: 'IMGSWARM_ERR_DISK',
      message: `${file}: is not a block device`,
    })
    expect(digest(file)).toBe(before)
  })

  it('a path that does not exist', async () => {
    const p = join(scratchDir(), 'sdz')
    await expect(applyLayout(p, SIMPLE, { run: readOnlyRunner() })).rejects.toMatchObject({
      code: 'IMGSWARM_ERR_DISK',
      message: `${p}: does not exist`,
    })
  })

  it('a partition instead of a whole disk', async () => {
    const { dev } = await loopDisk(256 * 1024 * 1024)
    await applyLayout(dev, SIMPLE)
    await expect(applyLayout(`${dev}p1`, SIMPLE, { run: readOnlyRunner() })).rejects.toMatchObject({
      code: 'IMGSWARM_ERR_DISK',
      message: `${dev}p1: is a partition, not a whole disk`,
    })
  })

  it('the disk the running system is on (only checked, never written)', async (ctx) => {
    const source = sh('findmnt', ['-n', '-o', 'SOURCE', '--target', '/'])
      .trim()
      .replace(/\[.*\]$/, '')
    if (!source.startsWith('/dev/')) return ctx.skip(`/ is on ${source}, not a block device`)
    const parent = sh('lsblk', ['-n', '-d', '-o', 'PKNAME', source]).trim()
    const disk = parent === '' ? source : `/dev/${parent}`
    const run = readOnlyRunner()
    await expect(checkDisk(disk, SIMPLE, { run })).rejects.toMatchObject({
      code: 'IMGSWARM_ERR_DISK_IN_USE',
      message: expect.stringContaining('the running system is on it'),
    })
    expect(run.calls).toContain('findmnt')
  })

  it("the running system's disk even when findmnt names no node (/dev/root): sysfs says so", async (ctx) => {
    const source = sh('findmnt', ['-n', '-o', 'SOURCE', '--target', '/']).trim()
    if (!source.startsWith('/dev/')) return ctx.skip(`/ is on ${source}, not a block device`)
    const parent = sh('lsblk', ['-n', '-d', '-o', 'PKNAME', source]).trim()
    // A fake findmnt (the only fake here): it answers the way kernels booted without an initramfs do.
    const run: CommandRunner = {
      run: async (tool) => {
        if (tool !== 'findmnt') throw new Error(`test guard: ${tool} would have run`)
        return { stdout: '/dev/root\n', stderr: '' }
      },
    }
    await expect(checkDisk(parent === '' ? source : `/dev/${parent}`, SIMPLE, { run })).rejects.toMatchObject({
      code: 'IMGSWARM_ERR_DISK_IN_USE',
      message: expect.stringContaining('(/ is on /dev/root)'),
    })
  })
})
