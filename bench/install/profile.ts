// Summarises a V8 .cpuprofile (node --cpu-prof): self time per function and
// per source file or package, so the report can say where the time goes.
import { readFileSync } from 'node:fs'

interface CallFrame {
  functionName: string
  url: string
  lineNumber: number
}

interface ProfileNode {
  id: number
  callFrame: CallFrame
  children?: number[]
}

interface CpuProfile {
  nodes: ProfileNode[]
  startTime: number
  endTime: number
  samples: number[]
  timeDeltas: number[]
}

export interface Row {
  name: string
  ms: number
  share: number
}

export interface ProfileSummary {
  totalMs: number
  idleMs: number
  gcMs: number
  functions: Row[]
  files: Row[]
  /** Native frames (syscalls, hashing) with the JavaScript function that called them. */
  nativeCallers: Row[]
}

/** Where a frame's code lives: a package name, a file of ours relative to the repo, or a V8 pseudo-frame. */
function place(url: string, repo: string): string {
  if (url === '') return '(native/V8)'
  const path = url.replace(/^file:\/\//, '')
  const nm = path.lastIndexOf('/node_modules/')
  if (nm >= 0) {
    const rest = path.slice(nm + 14).split('/')
    return `npm:${rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]}`
  }
  if (path.startsWith('node:')) return path
  return path.startsWith(`${repo}/`) ? path.slice(repo.length + 1) : path
}

function top(m: Map<string, number>, total: number, n: number): Row[] {
  return [...m.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([name, ms]) => ({ name, ms, share: ms / total }))
}

export function summarizeProfile(file: string, repo: string, n = 15): ProfileSummary {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile
  const byId = new Map(p.nodes.map((x) => [x.id, x.callFrame]))
  const parent = new Map<number, number>()
  for (const x of p.nodes) for (const c of x.children ?? []) parent.set(c, x.id)
  const label = (f: CallFrame) =>
    `${f.functionName || '(anonymous)'} ${f.url ? `${place(f.url, repo)}:${f.lineNumber + 1}` : ''}`.trim()
  // The nearest JavaScript caller, and the nearest one outside Node's own library when that is further up.
  const caller = (id: number): string => {
    let first: string | undefined
    for (let up = parent.get(id); up !== undefined; up = parent.get(up)) {
      const f = byId.get(up)
      if (!f?.url) continue
      first ??= label(f)
      if (!f.url.startsWith('node:')) return first === label(f) ? first : `${first} <- ${label(f)}`
    }
    return first ?? '(root)'
  }
  const native = new Map<string, number>()
  const fn = new Map<string, number>()
  const files = new Map<string, number>()
  let total = 0
  let idle = 0
  let gc = 0
  for (let i = 0; i < p.samples.length; i++) {
    const ms = (p.timeDeltas[i] ?? 0) / 1000
    const f = byId.get(p.samples[i] as number)
    if (!f) continue
    total += ms
    if (f.functionName === '(idle)') idle += ms
    if (f.functionName === '(garbage collector)') gc += ms
    const where = place(f.url, repo)
    const key = label(f)
    fn.set(key, (fn.get(key) ?? 0) + ms)
    if (!f.url && !f.functionName.startsWith('(')) {
      const k = `${key} <- ${caller(p.samples[i] as number)}`
      native.set(k, (native.get(k) ?? 0) + ms)
    }
    files.set(where, (files.get(where) ?? 0) + ms)
  }
  return {
    totalMs: total,
    idleMs: idle,
    gcMs: gc,
    functions: top(fn, total, n),
    files: top(files, total, n),
    nativeCallers: top(native, total, n),
  }
}

export function formatProfile(s: ProfileSummary): string {
  const row = (r: Row) =>
    `  ${(r.ms / 1000).toFixed(2).padStart(7)} s ${(100 * r.share).toFixed(1).padStart(5)}%  ${r.name}`
  return [
    `profile: ${(s.totalMs / 1000).toFixed(1)} s sampled on the main thread, idle ${(s.idleMs / 1000).toFixed(1)} s, GC ${(s.gcMs / 1000).toFixed(1)} s`,
    'self time by function:',
    ...s.functions.map(row),
    'self time by file or package:',
    ...s.files.map(row),
    'native self time by JavaScript caller:',
    ...s.nativeCallers.map(row),
  ].join('\n')
}
