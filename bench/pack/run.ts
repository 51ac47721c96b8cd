// Pack benchmark: our `image pack` against tar + mktorrent + sha256sum (and
// zstd) on the same generated tree, in the same run. See docs/bench-pack.md.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync, statfsSync, writeFileSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { errors, ImgswarmError } from '../../common/errors.ts'
import { optionsOrExit } from '../cli.ts'
import { launcherMode } from './launcher.ts'
import { ensureTools, GNU_TIME, run, stopAll } from './proc.ts'
import { formatRuns, formatTable, type ModeSummary, type RunPair, summarize } from './report.ts'
import {
  ANNOUNCE,
  baseline,
  baselineCommand,
  type Compression,
  Ours,
  type Sha256Tool,
  type SideResult,
} from './sides.ts'
import { ensureTree, forgetTree, type TreeSpec } from './tree.ts'

const REPO = resolve(import.meta.dirname, '../..')
const RESULT = join(REPO, '.bench-out/pack/result.json')
const USAGE = `usage: node bench/pack/run.ts [options]
  --size-gb N        tree size in GB (default 2: ~40,000 small files plus large ones)
  --runs N           runs per side; the table shows the median (default 3)
  --zstd             also compare --compress zstd with tar | zstd -T1 -3
  --work DIR         work directory (default .bench-out/pack)
  --keep             keep the tree, store and outputs (a later run with the same
                     --size-gb and --seed reuses the tree and the store)
  --seed S           seed of the generated tree (default imgswarm-pack-1)
  --baseline-fsync   also fsync the baseline's archive, as our pack does
  --baseline-sha256 T  sha256sum (default, as in the issue) or openssl (about
                     6x faster on Debian 12: uses the CPU's SHA instructions)
  --baseline-only    run only the baseline (to check the bench without the CLI)
  --from-source      run cli/main.ts even if a dist/ bundle exists`

const log = (line: string) => process.stderr.write(`bench: ${line}\n`)

function options() {
  const { values } = parseArgs({
    options: {
      'size-gb': { type: 'string', default: '2' },
      runs: { type: 'string', default: '3' },
      zstd: { type: 'boolean', default: false },
      work: { type: 'string' },
      keep: { type: 'boolean', default: false },
      seed: { type: 'string', default: 'imgswarm-pack-1' },
      'baseline-fsync': { type: 'boolean', default: false },
      'baseline-sha256': { type: 'string', default: 'sha256sum' },
      'baseline-only': { type: 'boolean', default: false },
      'from-source': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  })
  const sizeGb = Number(values['size-gb'])
  const runs = Number(values.runs)
  if (!(sizeGb > 0 && sizeGb <= 1000)) throw errors.usage(`--size-gb ${values['size-gb']}: want a number above 0`)
  if (!(Number.isInteger(runs) && runs >= 1)) throw errors.usage(`--runs ${values.runs}: want a whole number >= 1`)
  const sha = values['baseline-sha256']
  if (sha !== 'sha256sum' && sha !== 'openssl')
    throw errors.usage(`--baseline-sha256 ${sha}: want sha256sum or openssl`)
  return {
    ...values,
    sizeGb,
    runs,
    sha: sha as Sha256Tool,
    work: resolve(values.work ?? join(REPO, '.bench-out/pack')),
  }
}

type Opts = ReturnType<typeof options>

function paths(work: string) {
  return {
    tree: join(work, 'tree'),
    treeStamp: join(work, 'tree.stamp.json'),
    store: join(work, 'store'),
    storeStamp: join(work, 'store.stamp.json'),
    out: join(work, 'out'),
  }
}

function cleanup(o: Opts): void {
  const p = paths(o.work)
  forgetTree(p.tree, p.treeStamp)
  for (const f of [p.storeStamp, p.store, p.out]) rmSync(f, { recursive: true, force: true })
  try {
    if (readdirSync(o.work).length === 0) rmdirSync(o.work)
  } catch {}
}

function checkDisk(dir: string, bytes: number): void {
  const s = statfsSync(dir)
  const free = s.bavail * s.bsize
  if (free < bytes) {
    throw errors.usage(
      `${dir} has ${(free / 1e9).toFixed(1)} GB free; this run needs about ${(bytes / 1e9).toFixed(1)} GB`,
      'use a smaller --size-gb, or --work on a bigger disk',
    )
  }
}

/** Untimed preparation before each measured step, identical for both sides. */
async function settle(tree: string): Promise<void> {
  // Write back what the previous step left dirty, so it does not land in the next one's time.
  await run('sync', [])
  // Read the whole tree so neither side pays cold reads. Not `tar -cf /dev/null`:
  // GNU tar notices /dev/null and then skips reading file contents.
  await run('bash', ['-c', 'tar -cf - -C "$1" . | cat >/dev/null', 'warm', tree])
}

async function main(o: Opts): Promise<void> {
  const tools = [
    GNU_TIME,
    'tar',
    'mktorrent',
    o.sha === 'openssl' ? 'openssl' : 'sha256sum',
    'sync',
    'bash',
    'getfattr',
  ]
  if (o.zstd) tools.push('zstd')
  ensureTools(tools, log)
  const p = paths(o.work)
  const env = o['from-source'] ? { ...process.env, IMGSWARM_FROM_SOURCE: '1' } : process.env
  const ours = new Ours(join(REPO, 'bin/imgswarm'), p.store, env)
  const launcher = launcherMode(REPO, o['from-source'])
  if (!o['baseline-only']) {
    const help = await ours.help()
    if (!help.ok) {
      throw errors.tool('bin/imgswarm image pack --help', help.reason.split('\n').slice(0, 6).join('\n'))
    }
    if (!help.text.includes('--json')) log('warning: `image pack --help` does not mention --json')
    if (launcher.warning) log(`warning: ${launcher.warning}`)
  }

  mkdirSync(o.work, { recursive: true })
  const size = o.sizeGb * 1e9
  checkDisk(o.work, (existsSync(p.treeStamp) ? 0 : size) + (existsSync(p.storeStamp) ? 0 : size) + 1.2 * size)
  const spec: TreeSpec = { seed: o.seed, sizeGb: o.sizeGb }
  log(`tree: ${p.tree}`)
  const t0 = Date.now()
  const { stats, reused } = ensureTree(p.tree, p.treeStamp, spec, log)
  log(reused ? 'tree: reusing the generated tree' : `tree: generated in ${((Date.now() - t0) / 1000).toFixed(0)} s`)

  let input = p.tree
  if (!o['baseline-only']) {
    const storeSpec = JSON.stringify(spec)
    const storeCurrent = reused && existsSync(p.storeStamp) && readFileSync(p.storeStamp, 'utf8') === storeSpec
    if (storeCurrent) {
      input = ours.storedTree()
      log('store: reusing the imported image')
    } else {
      rmSync(p.storeStamp, { force: true })
      rmSync(p.store, { recursive: true, force: true })
      log('store: importing the tree (untimed)')
      input = await ours.importTree(p.tree)
      writeFileSync(p.storeStamp, storeSpec)
    }
    // Both sides read the store's copy: same inodes, same cache. The generated tree is not needed any more.
    if (!o.keep) forgetTree(p.tree, p.treeStamp)
  }

  const modes: Compression[] = o.zstd ? ['none', 'zstd'] : ['none']
  const summaries: ModeSummary[] = []
  for (const c of modes) {
    const pairs: RunPair[] = []
    let pieceLength = o['baseline-only'] ? 2 << 20 : 0
    for (let i = 1; i <= o.runs; i++) {
      // Alternate the order so that neither side always runs on a machine the other just heated up.
      const first = i % 2 === 1 ? 'ours' : 'baseline'
      const order = first === 'ours' ? (['ours', 'baseline'] as const) : (['baseline', 'ours'] as const)
      const got: Partial<Record<'ours' | 'baseline', SideResult>> = {}
      for (const side of order) {
        if (side === 'ours' && o['baseline-only']) continue
        rmSync(p.out, { recursive: true, force: true })
        mkdirSync(p.out)
        ours.reset()
        await settle(input)
        log(`${c === 'zstd' ? 'zstd ' : ''}run ${i}/${o.runs}: ${side}`)
        if (side === 'ours') {
          got.ours = await ours.pack(c)
          pieceLength = got.ours.pieceLength ?? pieceLength
        } else {
          got.baseline = await baseline(input, p.out, c, pieceLength, o['baseline-fsync'], o.sha)
        }
      }
      rmSync(p.out, { recursive: true, force: true })
      ours.reset()
      if (!got.baseline) throw new Error('baseline did not run')
      pairs.push({ run: i, first, ours: got.ours, baseline: got.baseline })
    }
    summaries.push(summarize(c, pieceLength, pairs))
  }

  const gb = (stats.bytes / 1e9).toFixed(2)
  const head = `pack benchmark: tree ${gb} GB, ${stats.entries.toLocaleString('en-US')} entries (${stats.files.toLocaleString('en-US')} files, ${stats.largeFiles} large), runs ${o.runs} (median), machine: ${cpus().length} cores`
  const lines = [head]
  for (const s of summaries) lines.push('', formatTable(s, o.sha), 'raw runs:', formatRuns(s))
  lines.push(
    '',
    `ours: bin/imgswarm image pack (${launcher.mode}), time and RSS of the whole process under GNU time, fsync included.`,
    `baseline: one bash script, steps in sequence through a file (mktorrent cannot read a pipe),`,
    `  pieces ${(summaries[0]?.pieceLength ?? 0) / 2 ** 20} MiB like ours, mktorrent with its default thread count (${cpus().length}),`,
    `  archive fsync: ${o['baseline-fsync'] ? 'yes (--baseline-fsync)' : 'no (pass --baseline-fsync to add it)'},`,
    o.sha === 'openssl'
      ? '  whole-archive SHA-256: openssl sha256 (--baseline-sha256 openssl).'
      : '  whole-archive SHA-256: sha256sum, which on Debian 12 is ~6x slower than OpenSSL (try --baseline-sha256 openssl).',
  )
  process.stdout.write(`${lines.join('\n')}\n`)

  mkdirSync(join(RESULT, '..'), { recursive: true })
  const result = {
    date: new Date().toISOString(),
    machine: { cores: cpus().length, cpu: cpus()[0]?.model, memoryGB: totalmem() / 1e9, node: process.version },
    options: {
      sizeGb: o.sizeGb,
      runs: o.runs,
      zstd: o.zstd,
      seed: o.seed,
      baselineFsync: o['baseline-fsync'],
      baselineSha256: o.sha,
    },
    tree: stats,
    ours: { command: 'bin/imgswarm image pack benchimg --json', launcher: launcher.mode, announce: ANNOUNCE },
    baseline: Object.fromEntries(modes.map((c) => [c, baselineCommand(c, o['baseline-fsync'], o.sha)])),
    modes: summaries,
  }
  writeFileSync(RESULT, `${JSON.stringify(result, null, 2)}\n`)
  log(`results: ${RESULT}`)
}

const opts: Opts = optionsOrExit(options, USAGE)

let stopping = false
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    if (stopping) return
    stopping = true
    log(`${sig}: stopping and cleaning up`)
    void stopAll().then(() => {
      if (!opts.keep) cleanup(opts)
      process.exit(sig === 'SIGINT' ? 130 : 143)
    })
  })
}

let code = 0
try {
  await main(opts)
} catch (e) {
  code = e instanceof ImgswarmError ? e.exitCode : 1
  console.error(`bench: error${e instanceof ImgswarmError ? ` ${e.code}` : ''}: ${(e as Error).message}`)
  if (e instanceof ImgswarmError && e.hint) console.error(`  what to do: ${e.hint}`)
} finally {
  if (!opts.keep && !stopping) cleanup(opts)
}
process.exitCode = code
