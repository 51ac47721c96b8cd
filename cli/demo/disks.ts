// --disks: one loop-device disk per node (a sparse file attached with
// partition scanning), always detached at the end, and a read-only look at a
// node's installed root file system for the check.
import { execFile } from 'node:child_process'
import { mkdir, readFile, truncate, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { errors } from '../../common/errors.ts'

const run = promisify(execFile)
const PATH = `${process.env.PATH ?? ''}:/usr/sbin:/sbin`

async function sh(tool: string, args: string[]): Promise<string> {
  try {
    return (await run(tool, args, { env: { ...process.env, PATH, LC_ALL: 'C' } })).stdout
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: string }
    if (err.code === 'ENOENT') throw errors.tool(tool, 'not found on PATH')
    throw errors.tool(tool, `${args.join(' ')}: ${(err.stderr ?? err.message).trim()}`)
  }
}

/** Tools a --disks install needs on this machine; the missing ones. */
export async function missingDiskTools(): Promise<string[]> {
  const tools = ['losetup', 'sfdisk', 'mkfs.ext4', 'blkid', 'partx', 'grub-install', 'mount', 'umount']
  const missing: string[] = []
  for (const t of tools) {
    await run('sh', ['-c', 'command -v "$1"', 'sh', t], { env: { ...process.env, PATH } }).catch(() => missing.push(t))
  }
  return missing
}

export interface LoopDisks {
  /** Device per node name. */
  devices: Map<string, string>
  /** Detaches every device this set attached; idempotent. */
  detach(): Promise<string[]>
  /** Same, synchronously usable from an exit handler. */
  attached(): string[]
}

export async function attachDisks(dir: string, names: string[], bytes: number): Promise<LoopDisks> {
  await mkdir(dir, { recursive: true })
  const devices = new Map<string, string>()
  const out: LoopDisks = {
    devices,
    attached: () => [...devices.values()],
    detach: async () => {
      const problems: string[] = []
      for (const [name, dev] of [...devices]) {
        await sh('losetup', ['-d', dev]).then(
          () => devices.delete(name),
          (e: Error) => problems.push(`${dev}: ${e.message}`),
        )
      }
      return problems
    },
  }
  try {
    for (const n of names) {
      const file = join(dir, `${n}.img`)
      await writeFile(file, '')
      await truncate(file, bytes)
      const dev = (await sh('losetup', ['-f', '--show', '-P', file])).trim()
      if (!/^\/dev\/loop[0-9]+$/.test(dev)) throw errors.tool('losetup', `gave ${JSON.stringify(dev)}`)
      devices.set(n, dev)
    }
  } catch (e) {
    await out.detach()
    throw e
  }
  return out
}

/** Mounts the node's root partition read-only at `at` for `fn`, then unmounts. */
export async function withRootMounted<T>(dev: string, at: string, fn: (root: string) => Promise<T>): Promise<T> {
  await mkdir(at, { recursive: true })
  await sh('partx', ['-u', dev]).catch(() => undefined)
  await sh('mount', ['-o', 'ro', `${dev}p1`, at])
  try {
    return await fn(at)
  } finally {
    await sh('umount', [at])
  }
}

/** Mount points under `dir` (deepest first), from this process's mount table. */
export async function mountsUnder(dir: string): Promise<string[]> {
  const info = await readFile('/proc/self/mountinfo', 'utf8')
  return info
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((m): m is string => m !== undefined && (m === dir || m.startsWith(`${dir}/`)))
    .sort((a, b) => b.length - a.length)
}

export async function unmountAll(dir: string): Promise<void> {
  for (const m of await mountsUnder(dir)) await sh('umount', ['-l', m]).catch(() => undefined)
}
