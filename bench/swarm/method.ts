// What every method gets and gives back, and the parts they share: a fresh
// directory per node, the summary of the done times, the extraction check.
import { lstatSync, mkdirSync, readdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import type { Fleet, Host } from '../../fleetsim/index.ts'
import { percentile } from './bound.ts'
import type { Image } from './image.ts'
import type { NodeProc } from './procs.ts'
import type { Launcher } from './tools.ts'

export interface Ctx {
  fleet: Fleet
  image: Image
  launcher: Launcher
  /** This fleet's work directory; node targets go under it. */
  work: string
  /** Link rate the multicast sender is held to (bits/s). */
  linkBps: number
  signal: AbortSignal
  log: (line: string) => void
}

export interface MethodResult {
  method: 'imgswarm' | 'imgswarm fault' | 'imgswarm fetch' | 'unicast' | 'multicast' | 'aria2c'
  /** Seconds from the start of the method to each finished node's done. */
  times: number[]
  last: number
  p50: number
  p90: number
  /** node: why, for nodes that did not finish (killed ones not included). */
  failed: string[]
  killed: number
  /** Median CPU seconds a node had used when done (only where the process outlives done: imgswarm, aria2c). */
  cpuP50: number | undefined
  /** Bytes the server host sent while the method ran (interface counter). */
  serverTx: number
  note?: string
}

export function nodeDir(ctx: Ctx, host: Host): string {
  return join(ctx.work, 'nodes', host.name)
}

/** An empty directory per node (the last method's files removed first). */
export function freshDirs(ctx: Ctx, sub?: string): string[] {
  return ctx.fleet.nodes.map((h) => {
    const d = nodeDir(ctx, h)
    rmSync(d, { recursive: true, force: true })
    const target = sub === undefined ? d : join(d, sub)
    mkdirSync(target, { recursive: true })
    return target
  })
}

export function clearDirs(ctx: Ctx): void {
  rmSync(join(ctx.work, 'nodes'), { recursive: true, force: true })
}

export function summarize(
  method: MethodResult['method'],
  t0: number,
  procs: NodeProc[],
  serverTx: number,
  note?: string,
): MethodResult {
  const ok = procs.filter((p) => p.done !== undefined)
  const times = ok.map((p) => ((p.done as number) - t0) / 1000)
  const failed = procs
    .filter((p) => p.done === undefined && p.killedAt === undefined)
    .map((p) => `${p.host.name}: ${p.failed ?? 'not finished'}`)
  const r: MethodResult = {
    method,
    times,
    last: times.length ? Math.max(...times) : Number.NaN,
    p50: percentile(times, 50),
    p90: percentile(times, 90),
    failed,
    killed: procs.filter((p) => p.killedAt !== undefined).length,
    cpuP50: undefined,
    serverTx,
  }
  const cpu = ok.flatMap((p) => (p.cpu === undefined ? [] : [p.cpu]))
  if (cpu.length === ok.length && cpu.length > 0) r.cpuP50 = percentile(cpu, 50)
  if (note !== undefined) r.note = note
  return r
}

/** Bytes of regular-file content under dir (a complete extraction holds the image's total). */
function fileBytes(dir: string): number {
  let sum = 0
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) sum += lstatSync(join(e.parentPath, e.name)).size
  }
  return sum
}

/** Marks as failed every finished node whose extracted tree does not hold every byte of the image. */
export function checkExtracted(ctx: Ctx, procs: NodeProc[], dirs: string[]): void {
  procs.forEach((p, i) => {
    if (p.done === undefined) return
    const got = fileBytes(dirs[i] as string)
    if (got !== ctx.image.fileBytes) {
      p.done = undefined
      p.failed = `extracted ${got} bytes of file content, want ${ctx.image.fileBytes}`
    }
  })
}
