// Install benchmark: `imgswarm install --target-dir` from a real `serve` on
// loopback against `curl WEBSEED | tar -x` from the same server, same image,
// same run. See docs/bench-install.md.
import { mkdirSync, readdirSync, rmdirSync, rmSync, statfsSync, statSync, writeFileSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { errors, ImgswarmError } from '../../common/errors.ts'
import { optionsOrExit } from '../cli.ts'
import { ensureTools, GNU_TIME, run, stopAll } from '../pack/proc.ts'
import { ensureTree, forgetTree } from '../pack/tree.ts'
import { stopPhased } from './phases.ts'
import { formatProfile, summarizeProfile } from './profile.ts'
import { formatPhases, formatRuns, formatTable, type RunPair, summarize } from './report.ts'
import { prepareStore, type Server, startServer } from './server.ts'
import { BASELINE_SCRIPT, baseline, check, ours, oursArgs, type SideResult } from './sides.ts'
import { checkFsTools, clearTargets, freshTarget, type Target } from './target.ts'

const REPO = resolve(import.meta.dirname, '../..')
const BIN = join(REPO, 'bin/imgswarm')
const RESULT = join(REPO, '.bench-out/install-result.json')
const TMPFS_MAGIC = 0x01021994
const USAGE = `usage: node bench/install/run.ts [options]
  --size-gb N       image size in GB (default 1: ~20,000 small files plus large ones)
  --runs N          runs per side; the table shows medians (default 3)
  --rss-only        run only ours (no baseline): peak RSS for a big image (--size-gb 4)
  --profile         after the runs, install once more under node --cpu-prof and
                    print where the client's main thread spends its time
  --upload-limit B  serve.upload_limit in bytes/s (default 0: none)
  --plain-dir       install into a plain directory in --work, not a fresh ext4
                    file system per run (no root needed for it; noisier: see docs)
  --work DIR        work directory, on a disk, not tmpfs (default .bench-out/install)
  --keep            keep the tree and the packed store (a later run with the same
                    --size-gb and --seed reuses them)
  --seed S          seed of the generated tree (default imgswarm-install-1)`

const log = (line: string) => process.stderr.write(`bench: ${line}\n`)

function options() {
  const { values } = parseArgs({
    options: {
      'size-gb': { type: 'string', default: '1' },
      runs: { type: 'string' },
      'rss-only': { type: 'boolean', default: false },
      profile: { type: 'boolean', default: false },
      'upload-limit': { type: 'string', default: '0' },
      'plain-dir': { type: 'boolean', default: false },
      work: { type: 'string' },
      keep: { type: 'boolean', default: false },
      seed: { type: 'string', default: 'imgswarm-install-1' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  })
  const sizeGb = Number(values['size-gb'])
  const runs = Number(values.runs ?? (values['rss-only'] ? '1' : '3'))
  const uploadLimit = Number(values['upload-limit'])
  if (!(sizeGb > 0 && sizeGb <= 1000)) throw errors.usage(`--size-gb ${values['size-gb']}: want a number above 0`)
  if (!(Number.isInteger(runs) && runs >= 1)) throw errors.usage(`--runs ${values.runs}: want a whole number >= 1`)
  if (!(Number.isInteger(uploadLimit) && uploadLimit >= 0)) throw errors.usage('--upload-limit: want bytes per second')
  return { ...values, sizeGb, runs, uploadLimit, work: resolve(values.work ?? join(REPO, '.bench-out/install')) }
}

type Opts = ReturnType<typeof options>

function paths(work: string) {
  return {
    tree: join(work, 'tree'),
    treeStamp: join(work, 'tree.stamp.json'),
    store: join(work, 'store'),
    profile: join(work, 'profile'),
    serveLog: join(work, 'serve.log'),
  }
}

async function cleanup(o: Opts): Promise<void> {
  const p = paths(o.work)
  await clearTargets(o.work).catch((e: Error) => log(`cleanup: ${e.message}`))
  forgetTree(p.tree, p.treeStamp)
  for (const f of [p.store, p.profile, p.serveLog]) rmSync(f, { recursive: true, force: true })
  try {
    if (readdirSync(o.work).length === 0) rmdirSync(o.work)
  } catch {}
}

function checkDisk(dir: string, bytes: number): void {
  const s = statfsSync(dir)
  if (s.type === TMPFS_MAGIC) throw errors.usage(`${dir} is on tmpfs`, 'give --work a directory on a disk')
  const free = s.bavail * s.bsize
  if (free < bytes) {
    throw errors.usage(
      `${dir} has ${(free / 1e9).toFixed(1)} GB free; this run needs about ${(bytes / 1e9).toFixed(1)} GB`,
      'use a smaller --size-gb, or --work on a bigger disk',
    )
  }
}

/** A fresh empty target, nothing dirty left from the step before, and the archive in the page cache. */
async function settle(o: Opts, s: Server): Promise<Target> {
  const t = await freshTarget(o.work, s.image.size, o['plain-dir'])
  await run('sync', [])
  await run('bash', ['-c', 'cat "$1" >/dev/null', 'warm', s.archive])
  return t
}

const env = { ...process.env, IMGSWARM_FROM_SOURCE: '1', IMGSWARM_CONFIG: 'none' }

async function side(which: 'ours' | 'baseline', o: Opts, s: Server): Promise<SideResult> {
  const t = await settle(o, s)
  const cpu0 = s.cpuSeconds()
  const r = which === 'ours' ? await ours(BIN, env, s, t.dir, o.work) : await baseline(s, t.dir)
  r.serverCpu = s.cpuSeconds() - cpu0
  const c = check(s.tree, t.dir)
  log(
    `  ${which}: ${r.wall.toFixed(2)} s, server CPU ${r.serverCpu.toFixed(1)} s, peak RSS ${((r.rssKiB * 1024) / 1e6).toFixed(0)} MB; checked ${c.entries} entries, hashed ${c.hashed} files (${(c.hashedBytes / 1e6).toFixed(0)} MB)`,
  )
  await t.dispose()
  return r
}

async function profileOnce(o: Opts, s: Server): Promise<string> {
  const p = paths(o.work)
  rmSync(p.profile, { recursive: true, force: true })
  mkdirSync(p.profile)
  const t = await settle(o, s)
  log('profile: one more install under node --cpu-prof (not in the table)')
  const nodeOptions = `${process.env.NODE_OPTIONS ?? ''} --cpu-prof --cpu-prof-dir=${p.profile}`.trim()
  await run(BIN, oursArgs(s, t.dir), { env: { ...env, NODE_OPTIONS: nodeOptions } })
  await t.dispose()
  // The client's own process wrote the biggest profile (children, if any, are short-lived).
  const files = readdirSync(p.profile).filter((f) => f.endsWith('.cpuprofile'))
  const biggest = files.map((f) => join(p.profile, f)).sort((a, b) => statSync(b).size - statSync(a).size)[0]
  if (!biggest) throw errors.tool('node --cpu-prof', `no .cpuprofile in ${p.profile}`)
  log(`profile: ${biggest}`)
  return formatProfile(summarizeProfile(biggest, REPO))
}

async function main(o: Opts, servers: Server[]): Promise<void> {
  ensureTools([GNU_TIME, 'tar', 'curl', 'sync', 'bash'], log)
  if (!o['plain-dir']) await checkFsTools()
  const p = paths(o.work)
  mkdirSync(o.work, { recursive: true })
  checkDisk(o.work, 4.5 * o.sizeGb * 1e9)
  const spec = { seed: o.seed, sizeGb: o.sizeGb }
  const t0 = Date.now()
  const { stats, reused } = ensureTree(p.tree, p.treeStamp, spec, log)
  log(reused ? 'tree: reusing the generated tree' : `tree: generated in ${((Date.now() - t0) / 1000).toFixed(0)} s`)
  if (!reused) rmSync(p.store, { recursive: true, force: true })
  await prepareStore(BIN, env, p.store, p.tree, JSON.stringify(spec), log)
  // The store's copy of the tree is what the checks compare against.
  if (!o.keep) forgetTree(p.tree, p.treeStamp)

  const s = await startServer(BIN, env, p.store, p.serveLog, o.uploadLimit)
  servers.push(s)
  log(`serve: ${s.url}, archive ${(s.image.size / 1e9).toFixed(2)} GB, web seed ${s.image.webseed}`)
  const pairs: RunPair[] = []
  for (let i = 1; i <= o.runs; i++) {
    // Alternate the order so that neither side always runs on a machine the other just heated up.
    const first = i % 2 === 1 || o['rss-only'] ? 'ours' : 'baseline'
    log(`run ${i}/${o.runs} (${first} first)`)
    const before = first === 'baseline' ? await side('baseline', o, s) : undefined
    const a = await side('ours', o, s)
    const after = first === 'ours' && !o['rss-only'] ? await side('baseline', o, s) : undefined
    pairs.push({ run: i, first, ours: a, baseline: before ?? after })
  }
  const profile = o.profile ? await profileOnce(o, s) : undefined
  await s.stop()

  const sum = summarize(s.image.size, pairs)
  const head = `install benchmark: ${stats.entries.toLocaleString('en-US')} entries (${stats.files.toLocaleString('en-US')} files, ${stats.largeFiles} large), ${o.runs} run(s), medians; machine: ${cpus().length} cores`
  const lines = [head, '', formatTable(sum), '', formatPhases(sum), 'raw runs:', formatRuns(sum)]
  lines.push(
    '',
    'ours: bin/imgswarm install --target-dir (from source) --seed-time 0 --post none, serve in its own process.',
    `baseline: bash -c '${BASELINE_SCRIPT}' with the plan's web seed URL.`,
    'Both: fresh empty directory on disk, archive in the page cache, no sync in the timed part.',
  )
  if (profile) lines.push('', profile)
  process.stdout.write(`${lines.join('\n')}\n`)

  mkdirSync(join(RESULT, '..'), { recursive: true })
  const result = {
    date: new Date().toISOString(),
    machine: { cores: cpus().length, cpu: cpus()[0]?.model, memoryGB: totalmem() / 1e9, node: process.version },
    options: { sizeGb: o.sizeGb, runs: o.runs, seed: o.seed, rssOnly: o['rss-only'], uploadLimit: o.uploadLimit },
    tree: stats,
    archive: s.image,
    summary: sum,
    profile,
  }
  writeFileSync(RESULT, `${JSON.stringify(result, null, 2)}\n`)
  log(`results: ${RESULT}`)
}

const opts: Opts = optionsOrExit(options, USAGE)

const servers: Server[] = []
let stopping = false
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    if (stopping) return
    stopping = true
    log(`${sig}: stopping and cleaning up`)
    stopPhased()
    void Promise.all([stopAll(), ...servers.map((s) => s.stop())])
      .then(() => (opts.keep ? clearTargets(opts.work) : cleanup(opts)))
      .catch((e: Error) => log(`cleanup: ${e.message}`))
      .finally(() => process.exit(sig === 'SIGINT' ? 130 : 143))
  })
}

let code = 0
try {
  await main(opts, servers)
} catch (e) {
  code = e instanceof ImgswarmError ? e.exitCode : 1
  console.error(`bench: error${e instanceof ImgswarmError ? ` ${e.code}` : ''}: ${(e as Error).message}`)
  if (e instanceof ImgswarmError && e.hint) console.error(`  what to do: ${e.hint}`)
} finally {
  await Promise.all(servers.map((s) => s.stop()))
  if (!stopping) await (opts.keep ? clearTargets(opts.work) : cleanup(opts))
}
process.exitCode = code
