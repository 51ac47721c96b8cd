// Our install under GNU time, like bench/pack/proc.ts `timed`, but with its
// console lines time-stamped: the `[step]` lines split the wall time into
// phases (plan, download, read-back verify, identity, ...).
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { errors } from '../../common/errors.ts'
import { GNU_TIME, type Timed } from '../pack/proc.ts'

export interface Phase {
  step: string
  seconds: number
}

export interface TimedPhases extends Timed {
  phases: Phase[]
}

const running = new Set<ChildProcess>()

/** Stops the process groups started here (an interrupted benchmark). */
export function stopPhased(): void {
  for (const c of running) {
    try {
      if (c.pid !== undefined) process.kill(-c.pid, 'SIGTERM')
    } catch {}
  }
}

/** Durations between consecutive `[step]` lines; the last one runs to the end. */
function phasesOf(lines: { t: number; text: string }[], end: number): Phase[] {
  const marks = lines.flatMap((l) => {
    const m = /^\[([a-z-]+)\]/.exec(l.text)
    return m ? [{ step: m[1] as string, t: l.t }] : []
  })
  const out: Phase[] = [{ step: 'start-up', seconds: marks[0]?.t ?? end }]
  for (const [i, m] of marks.entries()) out.push({ step: m.step, seconds: (marks[i + 1]?.t ?? end) - m.t })
  return out
}

export function timedPhases(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  workDir: string,
): Promise<TimedPhases> {
  const dir = mkdtempSync(join(workDir, 'time-'))
  const file = join(dir, 'time')
  const t0 = process.hrtime.bigint()
  const now = () => Number(process.hrtime.bigint() - t0) / 1e9
  return new Promise<TimedPhases>((resolve, reject) => {
    const child = spawn(GNU_TIME, ['-f', '%M %U %S', '-o', file, cmd, ...args], {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env,
    })
    running.add(child)
    const out: Buffer[] = []
    const lines: { t: number; text: string }[] = []
    let partial = ''
    child.stdout?.on('data', (b: Buffer) => out.push(b))
    child.stderr?.on('data', (b: Buffer) => {
      const t = now()
      const parts = (partial + b.toString()).split('\n')
      partial = parts.pop() ?? ''
      for (const text of parts) lines.push({ t, text })
    })
    child.on('error', (e) => reject(errors.tool(cmd, e.message)))
    child.on('close', (code, signal) => {
      running.delete(child)
      const wall = now()
      try {
        if (code !== 0) {
          const tail = lines.slice(-20).map((l) => l.text)
          throw errors.tool(`${cmd} ${args.join(' ')}`.slice(0, 300), `${signal ?? `exit ${code}`}\n${tail.join('\n')}`)
        }
        const last = readFileSync(file, 'utf8').trim().split('\n').pop() ?? ''
        const [rss, user, sys] = last.split(' ').map(Number)
        if (rss === undefined || user === undefined || sys === undefined || Number.isNaN(rss + user + sys)) {
          throw errors.tool(GNU_TIME, `unexpected output ${JSON.stringify(last)}`, 'time')
        }
        const stdout = Buffer.concat(out).toString()
        resolve({ wall, rssKiB: rss, user, sys, stdout, phases: phasesOf(lines, wall) })
      } catch (e) {
        reject(e)
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    })
  })
}
