// Processes inside the fleet's namespaces, found by namespace inode (what
// `ip netns pids` does) with plain synchronous reads of /proc, so the same
// code serves destroy() and the last moments of a dying process.
import { readdirSync, readlinkSync, statSync } from 'node:fs'

export const NETNS_DIR = '/run/netns'

/** The inode of a named namespace, or undefined when it does not exist. */
function inodeOf(netns: string): number | undefined {
  try {
    return statSync(`${NETNS_DIR}/${netns}`).ino
  } catch {
    return undefined
  }
}

/** Pids of every process whose network namespace is one of `names`. */
export function pidsIn(names: string[]): number[] {
  const inodes = new Set<string>()
  for (const n of names) {
    const ino = inodeOf(n)
    if (ino !== undefined) inodes.add(`net:[${ino}]`)
  }
  if (inodes.size === 0) return []
  const pids: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue
    try {
      if (inodes.has(readlinkSync(`/proc/${entry}/ns/net`))) pids.push(Number(entry))
    } catch {
      // gone meanwhile, or a kernel thread
    }
  }
  return pids
}

export function killAll(pids: number[], signal: NodeJS.Signals = 'SIGKILL'): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal)
    } catch {
      // already gone
    }
  }
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Namespace names under /run/netns. */
export function listNetns(): string[] {
  try {
    return readdirSync(NETNS_DIR)
  } catch {
    return []
  }
}
