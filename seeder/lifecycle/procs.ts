// Processes seen through /proc: the children of one, and any still rooted in a tree.
import { readdir, readFile, readlink } from 'node:fs/promises'

/** PIDs whose parent is `pid` (from /proc/N/stat; works without CONFIG_PROC_CHILDREN). */
export async function childrenOf(pid: number): Promise<number[]> {
  const out: number[] = []
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue
    const stat = await readFile(`/proc/${name}/stat`, 'utf8').catch(() => '')
    // "PID (COMM) STATE PPID ...": COMM may hold spaces and parentheses, so read after the last ')'.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
    if (ppid === pid) out.push(Number(name))
  }
  return out
}

/** Kills processes whose root directory is the tree or inside it; returns how many. */
export async function killRootedIn(tree: string): Promise<number> {
  let n = 0
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue
    const root = await readlink(`/proc/${name}/root`).catch(() => '')
    if (root === tree || root.startsWith(`${tree}/`)) {
      try {
        process.kill(Number(name), 'SIGKILL')
        n++
      } catch {
        // gone already
      }
    }
  }
  return n
}
