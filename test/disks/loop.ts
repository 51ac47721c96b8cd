// Loop-device disks for tests: a sparse backing file in a temp dir of our own,
// attached with partition scanning. afterEach unmounts everything under our
// temp dirs and detaches every loop device this file attached, pass or fail;
// nothing else on the machine is ever touched.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { truncate, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterEach } from 'vitest'

const PATH = `${process.env.PATH ?? ''}:/usr/sbin:/sbin`
const attached: string[] = []
const dirs: string[] = []

export function sh(tool: string, args: string[], input?: string): string {
  return execFileSync(tool, args, {
    encoding: 'utf8',
    env: { ...process.env, PATH, LC_ALL: 'C' },
    input,
    stdio: ['pipe', 'pipe', 'pipe'],
  })
}

export function haveTools(...tools: string[]): string[] {
  return tools.filter((t) => {
    try {
      execFileSync('sh', ['-c', 'command -v "$1"', 'sh', t], { env: { ...process.env, PATH }, stdio: 'ignore' })
      return false
    } catch {
      return true
    }
  })
}

/** A directory that afterEach unmounts (anything mounted inside it) and removes. */
export function scratchDir(): string {
  const d = mkdtempSync(join(process.env.IMGSWARM_TEST_TMP ?? tmpdir(), 'imgswarm-disk-'))
  dirs.push(d)
  return d
}

/**
 * A sparse file of `bytes` attached as /dev/loopN with partition scanning.
 * `backingBytes`: the file lives on a tmpfs of that size, so the disk claims
 * `bytes` but its writes fail (I/O error) once the tmpfs is full: a thin or
 * failing disk whose file system above it sees free space and whose writes
 * succeed into the page cache, failing only at write-back.
 */
export async function loopDisk(
  bytes: number,
  o: { backingBytes?: number } = {},
): Promise<{ dev: string; file: string }> {
  const dir = scratchDir()
  if (o.backingBytes !== undefined) sh('mount', ['-t', 'tmpfs', '-o', `size=${o.backingBytes}`, 'imgswarm-test', dir])
  const file = join(dir, 'disk.img')
  await writeFile(file, '')
  await truncate(file, bytes)
  const dev = sh('losetup', ['-f', '--show', '-P', file]).trim()
  if (!/^\/dev\/loop[0-9]+$/.test(dev)) throw new Error(`losetup gave ${JSON.stringify(dev)}`)
  attached.push(dev)
  return { dev, file }
}

/** Mount points (from mountinfo) that lie inside one of our scratch dirs, deepest first. */
function ourMounts(): string[] {
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((m): m is string => m !== undefined && dirs.some((d) => m === d || m.startsWith(`${d}/`)))
  return mounts.sort((a, b) => b.length - a.length)
}

afterEach(() => {
  const problems: string[] = []
  // A tmpfs that backs a loop device stays busy until the device is detached: a second round after.
  const backing = new Set(attached.map((dev) => backingDir(dev)))
  for (const m of ourMounts()) {
    if (backing.has(m)) continue
    try {
      sh('umount', [m])
    } catch (e) {
      problems.push(`umount ${m}: ${(e as Error).message}`)
    }
  }
  while (attached.length > 0) {
    const dev = attached.pop() as string
    try {
      sh('losetup', ['-d', dev])
    } catch (e) {
      problems.push(`losetup -d ${dev}: ${(e as Error).message}`)
    }
  }
  for (const m of ourMounts()) {
    try {
      sh('umount', [m])
    } catch (e) {
      problems.push(`umount ${m}: ${(e as Error).message}`)
    }
  }
  while (dirs.length > 0) rmSync(dirs.pop() as string, { recursive: true, force: true })
  if (problems.length > 0) throw new Error(`cleanup: ${problems.join('; ')}`)
})

/** The folder holding a loop device's backing file (losetup's BACK-FILE column). */
function backingDir(dev: string): string {
  try {
    return dirname(sh('losetup', ['-n', '-O', 'BACK-FILE', dev]).trim())
  } catch {
    return ''
  }
}
