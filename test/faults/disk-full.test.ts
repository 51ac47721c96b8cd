// Fault 3 (issue 9): a node's disk fails mid-install, in a swarm with two
// healthy nodes; node03's target is a real block device (a loop device).
// Two ways:
// - full: node03 installs with --disk onto a 16 MiB disk, so a write fails
//   with ENOSPC during the download;
// - write-back: node03 installs with --target-dir into an ext4 that claims
//   256 MiB on a loop device whose backing file sits on a 24 MiB tmpfs.
//   ext4 sees free space and every write succeeds into the page cache; the
//   device's writes fail (I/O error) once the tmpfs is full, which only the
//   write-back sees. The read-back verification reads the page cache and
//   passes, so only the flush before `seed` (client/install/flush.ts) can
//   tell: before it, such a node ended "installed and verified". (With
//   --disk, grub-install's own fsync of core.img would see it first.)
// Either way it must fail clearly: a non-zero exit, a coded error on its
// console, a `failed` event with that code at the server, the fleet
// database's install row `failed` with the code, and never a `done` or
// `seed` event or a verified row. The healthy nodes must still finish.
// (This kernel has no device mapper, so a dm-error target cannot be made.)
import { afterEach, describe, expect, it } from 'vitest'
import type { Host } from '../../fleetsim/index.ts'
import { haveTools, loopDisk, scratchDir, sh } from '../disks/loop.ts'
import { unsupported } from '../fleet/support.ts'
import { tempDir } from '../support/tmp.ts'
import { eventsOf, installOn, installRows, MB, MiB, type Swarm, startSwarm } from './swarm.ts'

const DATA_MB = 24
const SMALL = `table = "msdos"
[[partition]]
label = "root"
size = "grow"
fs = "ext4"
mount = "/"
`
/**
 * An ext4 of 256 MiB on a loop device backed by a 24 MiB tmpfs, mounted; its folder.
 * mkfs writes all of ext4's metadata (about 5 MB) at once, none later from the kernel's lazy
 * inode-table init, so what cannot fit is the image's data (27 MB) alone.
 */
async function thinFileSystem(): Promise<string> {
  const { dev } = await loopDisk(256 * MiB, { backingBytes: 24 * MiB })
  sh('mkfs.ext4', ['-F', '-q', '-N', '2048', '-E', 'lazy_itable_init=0,lazy_journal_init=0', dev])
  const dir = scratchDir()
  sh('mount', ['-t', 'ext4', dev, dir])
  return dir
}

const missing = haveTools('sfdisk', 'mkfs.ext4', 'blkid', 'losetup', 'mount', 'sync')
const why = unsupported ?? (missing.length > 0 ? `missing ${missing.join(', ')}` : undefined)

let swarm: Swarm | undefined
afterEach(async () => {
  await swarm?.fleet.destroy()
  swarm = undefined
})

if (why) it.skip(`fault test: ${why}`, () => {})

interface Case {
  /** node03's install: onto a disk with this layout, or into this folder. */
  where: { disk: string; layout: string } | { targetDir: string }
  /** The console line of the failure, and its code. */
  step: RegExp
  cause: RegExp
  code?: string
}

async function failingNode(label: string, c: Case): Promise<void> {
  const dir = await tempDir()
  swarm = await startSwarm(
    dir,
    DATA_MB,
    { nodes: 3, nodeUpBps: 40 * MB, nodeDownBps: 40 * MB, serverUpBps: 40 * MB },
    'disk' in c.where
      ? { nodeLines: { node03: 'layout = "node03.toml"' }, files: { 'node03.toml': c.where.layout } }
      : {},
  )
  const s = swarm
  const [n1, n2, n3] = s.fleet.nodes as [Host, Host, Host]
  const runs = await Promise.all([installOn(s, n1), installOn(s, n2), installOn(s, n3, c.where)])
  const [r1, r2, r3] = await Promise.all(runs.map((r) => r.result))
  expect(r1?.code, r1?.stderr).toBe(0)
  expect(r2?.code, r2?.stderr).toBe(0)

  // The failing disk: a non-zero exit, a coded error naming the cause, no JSON summary of success.
  const bad = r3 as NonNullable<typeof r3>
  console.log(
    `fault 3 (${label}): node03 exited ${bad.code}; its last lines:\n${bad.stderr.split('\n').slice(-6).join('\n')}`,
  )
  expect(bad.code, bad.stderr).not.toBe(0)
  expect(bad.code).not.toBeNull()
  expect(bad.stderr).toMatch(c.step)
  expect(bad.stderr).toMatch(c.cause)
  expect(bad.stderr).not.toMatch(/installed and verified/)
  expect(bad.stdout.trim()).toBe('')
  const code = /IMGSWARM_ERR_[A-Z_]+/.exec(bad.stderr)?.[0]
  if (c.code !== undefined) expect(code).toBe(c.code)

  // The server got the failure with its code, and no success for node03.
  const events = (await eventsOf(s)).filter((e) => e.node === 'node03')
  const failed = events.filter((e) => e.step === 'failed')
  expect(failed.length, JSON.stringify(events)).toBe(1)
  expect(failed[0]?.code).toMatch(/^IMGSWARM_ERR_/)
  if (code !== undefined) expect(failed[0]?.code).toBe(code)
  expect(events.some((e) => e.step === 'done' || e.step === 'seed')).toBe(false)
  const rows = installRows(s.store).filter((r) => r.node === 'node03')
  expect(rows.map((r) => r.result)).toEqual(['failed'])
  expect(rows[0]?.code).toBe(failed[0]?.code)
  console.log(`fault 3 (${label}): event code ${failed[0]?.code}, fleet db row ${JSON.stringify(rows[0])}`)
}

describe.runIf(!why)('fault 3: a node whose disk fails', () => {
  it('full: fails with a coded error that reaches the server, and nothing is reported as success', async () => {
    await failingNode('full', {
      where: { disk: (await loopDisk(16 * MiB)).dev, layout: SMALL },
      step: /\[failed\] during (download|extract)/,
      cause: /ENOSPC|no space/i,
    })
  }, 240_000)

  it('write-back: the flush before seeding catches what the page cache hid, and it is reported as a failure', async () => {
    await failingNode('write-back', {
      where: { targetDir: await thinFileSystem() },
      step: /\[failed\] during identity/,
      cause: /could not write the install to disk: .*(Input\/output error|No space left|Read-only)/,
      code: 'IMGSWARM_ERR_WRITEBACK',
    })
  }, 240_000)
})
