// Helpers for the fleet tests: what exists on the machine, and a child
// process that owns a fleet (test/fleet/owner-child.ts).
import { type ChildProcess, spawn } from 'node:child_process'
import { readdir } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { run } from '../../fleetsim/commands.ts'
import { fleetUnsupported } from '../../fleetsim/index.ts'

export const unsupported = fleetUnsupported()

export async function netnsNames(): Promise<string[]> {
  return readdir('/run/netns').catch(() => [])
}

/**
 * Links of the machine's own namespace that belong to a fleet tagged `tag`:
 * a veth whose peer sits in one of its namespaces shows `link-netns NAME`.
 * The harness never makes one; a harness that put veth ends in the root
 * namespace would.
 */
export async function rootLinksOf(tag: string): Promise<string[]> {
  const r = await run('ip', ['-o', 'link', 'show'])
  return r.stdout.split('\n').filter((l) => l.includes(`-${tag}-`))
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

const CHILD = fileURLToPath(new URL('./owner-child.ts', import.meta.url))

export interface Owner {
  child: ChildProcess
  netns: string
  sleeperPid: number
  exited: Promise<void>
}

/** Starts a process that builds a fleet tagged `tag`; resolves once the fleet is up. */
export async function fleetOwner(tag: string): Promise<Owner> {
  const child = spawn(process.execPath, [CHILD, tag], { stdio: ['ignore', 'pipe', 'pipe'] })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  let out = ''
  let err = ''
  child.stderr?.on('data', (c: Buffer) => {
    err += c.toString()
  })
  const line = await new Promise<string>((resolve, reject) => {
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString()
      const m = /^ready .*$/m.exec(out)
      if (m) resolve(m[0])
    })
    child.once('exit', (code) => reject(new Error(`fleet owner exited ${code}: ${err}`)))
  })
  const [, netns, pid] = line.split(' ')
  return { child, netns: netns as string, sleeperPid: Number(pid), exited }
}
