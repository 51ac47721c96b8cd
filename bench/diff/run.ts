// image diff benchmark: our diffTrees against GNU `diff -rq --no-dereference`
// on the same generated tree, in the same run: once against a hard-linked twin
// (what capture's --link-dest makes) and once against a full copy, each with
// the same few changed files. Page cache warm for both (dropping it would
// disturb everyone else on the machine). See docs/image-edit.md#speed.
import { execFileSync, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { errors } from '../../common/errors.ts'
import { type DiffStats, diffTrees } from '../../seeder/lifecycle/index.ts'
import { optionsOrExit } from '../cli.ts'

const USAGE = `usage: node bench/diff/run.ts [--files N] [--size-kb K] [--changed C] [--runs R] [--work DIR]
  --files N     files in the tree (default 20000, in directories of 100)
  --size-kb K   size of each file (default 16)
  --changed C   files rewritten in the twin and the copy (default 20)
  --runs R      runs per side, the table shows the median (default 3)
  --work DIR    work directory (default .bench-out/diff; removed afterwards)`

function options() {
  const { values } = parseArgs({
    options: {
      files: { type: 'string', default: '20000' },
      'size-kb': { type: 'string', default: '16' },
      changed: { type: 'string', default: '20' },
      runs: { type: 'string', default: '3' },
      work: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  })
  const num = (flag: string, v: string, min: number) => {
    const n = Number(v)
    if (!Number.isInteger(n) || n < min) throw errors.usage(`--${flag} ${v}: want a whole number >= ${min}`)
    return n
  }
  return {
    help: values.help,
    files: num('files', values.files, 1),
    sizeKb: num('size-kb', values['size-kb'], 0),
    changed: num('changed', values.changed, 0),
    runs: num('runs', values.runs, 1),
    work: resolve(values.work ?? '.bench-out/diff'),
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number

async function time(f: () => Promise<unknown> | unknown): Promise<number> {
  const t = process.hrtime.bigint()
  await f()
  return Number(process.hrtime.bigint() - t) / 1e6
}

function gnuDiff(a: string, b: string): number {
  // Exit 1 means "different", as expected here; 2 is trouble.
  const r = spawnSync('diff', ['-rq', '--no-dereference', a, b], { stdio: ['ignore', 'ignore', 'pipe'] })
  if (r.status !== 1) throw new Error(`diff -rq exited ${r.status}: ${r.stderr}`)
  return r.status
}

const opts = optionsOrExit(options, USAGE)
rmSync(opts.work, { recursive: true, force: true })
const a = join(opts.work, 'a')
const linked = join(opts.work, 'linked')
const copied = join(opts.work, 'copied')
try {
  const body = randomBytes(opts.sizeKb * 1024)
  for (let i = 0; i < opts.files; i++) {
    const d = join(a, `d${Math.floor(i / 100)}`)
    if (i % 100 === 0) mkdirSync(d, { recursive: true })
    body.writeUInt32LE(i, 0)
    writeFileSync(join(d, `f${i}`), body)
  }
  execFileSync('cp', ['-al', a, linked])
  execFileSync('cp', ['-a', a, copied])
  for (const t of [linked, copied]) {
    for (let i = 0; i < opts.changed; i++) {
      const f = join(t, `d${Math.floor(i / 100)}`, `f${i}`)
      unlinkSync(f) // a new inode, as rsync makes for a changed file
      writeFileSync(f, `changed ${i}`)
    }
  }
  const rows: string[][] = []
  for (const [label, b] of [
    ['hard-linked twin', linked],
    ['full copy', copied],
  ] as const) {
    const ours: number[] = []
    const theirs: number[] = []
    let stats: DiffStats = { entries: 0, sameInode: 0, filesRead: 0, bytesRead: 0 }
    for (let r = 0; r < opts.runs; r++) {
      stats = { entries: 0, sameInode: 0, filesRead: 0, bytesRead: 0 }
      const s = stats
      ours.push(
        await time(async () => {
          const n = (await diffTrees(a, b, s)).length
          if (n !== opts.changed) throw new Error(`diffTrees found ${n} changes, want ${opts.changed}`)
        }),
      )
      theirs.push(await time(() => gnuDiff(a, b)))
    }
    const [o, t] = [median(ours), median(theirs)]
    rows.push([label, `${o.toFixed(0)} ms`, `${t.toFixed(0)} ms`, (t / o).toFixed(2), `${stats.filesRead}`])
  }
  const head = ['trees', 'diffTrees', 'diff -rq', 'diff/ours', 'files read (ours)']
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)))
  process.stdout.write(
    `${opts.files} files of ${opts.sizeKb} KiB, ${opts.changed} changed, median of ${opts.runs} runs\n`,
  )
  for (const r of [head, ...rows]) process.stdout.write(`${r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ')}\n`)
} finally {
  rmSync(opts.work, { recursive: true, force: true })
}
