// Removing a fleet: end the processes in its namespaces, then delete the
// namespaces. Deleting a namespace destroys the veth ends in it, and with
// them their peers; nothing of a fleet lives outside its namespaces.
import type { ChildProcess } from 'node:child_process'
import { setTimeout as sleep } from 'node:timers/promises'
import { batch, batchSync } from './commands.ts'
import { ownerOf } from './names.ts'
import { alive, killAll, listNetns, pidsIn } from './procs.ts'

const GRACE_MS = 3000

function delLines(names: string[]): string[] {
  const present = new Set(listNetns())
  return names.filter((n) => present.has(n)).map((n) => `netns del ${n}`)
}

/** Synchronous and best effort, for process exit. */
export function teardownSync(names: string[], children: Set<ChildProcess>): void {
  for (const c of children) c.kill('SIGKILL')
  killAll(pidsIn(names))
  batchSync('ip', delLines(names))
}

async function exited(children: Set<ChildProcess>, ms: number): Promise<void> {
  const until = Date.now() + ms
  while (children.size > 0 && Date.now() < until) await sleep(50)
}

/** SIGTERM to what spawn started, SIGKILL to whatever is left in the namespaces, then delete them. */
export async function teardown(names: string[], children: Set<ChildProcess>): Promise<void> {
  for (const c of children) c.kill('SIGTERM')
  await exited(children, GRACE_MS)
  for (let round = 0; round < 20; round++) {
    const pids = pidsIn(names)
    if (pids.length === 0) break
    killAll(pids)
    await sleep(50)
  }
  await exited(children, 1000)
  await batch('ip', delLines(names), { force: true })
}

/** Namespaces made by this harness whose owning process is gone. */
export function staleNetns(): string[] {
  return listNetns().filter((n) => {
    const o = ownerOf(n)
    return o !== undefined && o.pid !== process.pid && !alive(o.pid)
  })
}

export async function removeStale(): Promise<string[]> {
  const stale = staleNetns()
  if (stale.length === 0) return []
  killAll(pidsIn(stale))
  await sleep(50)
  await batch('ip', delLines(stale), { force: true }).catch(() => {})
  const left = new Set(listNetns())
  return stale.filter((n) => !left.has(n))
}
