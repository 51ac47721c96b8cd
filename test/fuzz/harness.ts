// A fuzz campaign: runs a check over fast-check inputs, counts every input
// (accepted, refused with a coded error, crash, hang) instead of stopping at
// the first failure, and writes the counts to .fuzz-results/TARGET.json for
// `npm run fuzz:report` (test/fuzz/report.ts). docs/fuzz.md explains.
import { execFileSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import fc from 'fast-check'
import { isImgswarmError } from '../../common/errors.ts'
import { DEFAULT_RUNS, RUNS } from '../support/fuzz.ts'

/** A case that runs longer than this counts as a hang. */
export const HANG_MS = Number(process.env.IMGSWARM_FUZZ_HANG_MS ?? 2000)
export const RESULTS_DIR = join(import.meta.dirname, '../../.fuzz-results')
const KEEP_SAMPLES = 5

/** What one input did: a string is a violation (a crash of the property). */
export type Verdict = 'accepted' | 'refused' | string

export interface CampaignResult {
  target: string
  runs: number
  tried: number
  accepted: number
  refused: number
  crashes: number
  hangs: number
  seed: number
  ms: number
  date: string
  commit: string
  samples: { kind: 'crash' | 'hang'; detail: string; input: string }[]
}

function commit(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: import.meta.dirname })
      .toString()
      .trim()
  } catch {
    return 'unknown'
  }
}

function show(input: unknown): string {
  try {
    const s = fc.stringify(input)
    return s.length > 600 ? `${s.slice(0, 600)}…(${s.length} chars)` : s
  } catch {
    return String(input)
  }
}

/**
 * Calls `f` and sorts its outcome: a return value is accepted, an
 * ImgswarmError (IMGSWARM_ERR_*) is refused, anything else thrown is a crash.
 */
export async function parserVerdict(f: () => unknown): Promise<Verdict> {
  try {
    await f()
    return 'accepted'
  } catch (e) {
    if (isImgswarmError(e) && e.code.startsWith('IMGSWARM_ERR_')) return 'refused'
    const err = e as Error
    return `${err?.name ?? typeof e}: ${String(err?.message ?? e).slice(0, 300)}`
  }
}

class Timeout {}

/**
 * IMGSWARM_FUZZ_SEED when set. Otherwise the short (CI) runs use a fixed seed
 * per target, so the suite is reproducible and a red CI run replays exactly;
 * the long runs (IMGSWARM_FUZZ_RUNS above the default) use a fresh seed each
 * time, to explore. docs/fuzz.md.
 */
export function campaignSeed(target: string, runs: number): number {
  const fixed = process.env.IMGSWARM_FUZZ_SEED
  if (fixed !== undefined && fixed !== '') return Number(fixed)
  if (runs > DEFAULT_RUNS) return Date.now() % 2 ** 31
  let h = 2166136261
  for (const c of target) h = Math.imul(h ^ c.charCodeAt(0), 16777619) >>> 0
  return h % 2 ** 31
}

/** Runs `check` for RUNS inputs of `arb` (or `runs`), each under HANG_MS; writes and returns the counts. */
export async function campaign<T>(
  target: string,
  arb: fc.Arbitrary<T>,
  check: (input: T) => Verdict | Promise<Verdict>,
  opts: { runs?: number; hangMs?: number; record?: boolean } = {},
): Promise<CampaignResult> {
  const runs = opts.runs ?? RUNS
  const hangMs = opts.hangMs ?? HANG_MS
  const seed = campaignSeed(target, runs)
  const r: CampaignResult = {
    target,
    runs,
    tried: 0,
    accepted: 0,
    refused: 0,
    crashes: 0,
    hangs: 0,
    seed,
    ms: 0,
    date: new Date().toISOString(),
    commit: commit(),
    samples: [],
  }
  const t0 = performance.now()
  await fc.assert(
    fc.asyncProperty(arb, async (input) => {
      r.tried++
      const started = performance.now()
      let timer: NodeJS.Timeout | undefined
      const deadline = new Promise<Timeout>((resolve) => {
        timer = setTimeout(() => resolve(new Timeout()), hangMs)
      })
      let v: Verdict | Timeout
      try {
        v = await Promise.race([Promise.resolve().then(() => check(input)), deadline])
      } catch (e) {
        v = `check threw ${(e as Error)?.name}: ${(e as Error)?.message}`
      } finally {
        clearTimeout(timer)
      }
      // A synchronous check cannot be interrupted; it still counts when it overran.
      if (!(v instanceof Timeout) && performance.now() - started > hangMs) v = new Timeout()
      if (v instanceof Timeout) {
        r.hangs++
        if (r.hangs <= KEEP_SAMPLES) r.samples.push({ kind: 'hang', detail: `> ${hangMs} ms`, input: show(input) })
      } else if (v === 'accepted') r.accepted++
      else if (v === 'refused') r.refused++
      else {
        r.crashes++
        if (r.crashes <= KEEP_SAMPLES) r.samples.push({ kind: 'crash', detail: v, input: show(input) })
      }
    }),
    { numRuns: runs, seed },
  )
  r.ms = Math.round(performance.now() - t0)
  if (opts.record === false) return r
  mkdirSync(RESULTS_DIR, { recursive: true })
  writeFileSync(join(RESULTS_DIR, `${target}.json`), `${JSON.stringify(r, null, 2)}\n`)
  return r
}

/** For expect(): the counts that must be zero, with the first samples to say why. */
export const failures = (r: CampaignResult) => ({ crashes: r.crashes, hangs: r.hangs, samples: r.samples })
export const CLEAN = { crashes: 0, hangs: 0, samples: [] }
