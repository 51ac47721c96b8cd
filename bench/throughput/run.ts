// Throughput benchmark: one seeder and one leecher over loopback, unshaped.
// Our engine (seeder and leecher) against aria2c leeching from the same
// seeder, and optionally aria2c -> aria2c, on the same torrent in the same
// run. Prints MB/s per run, medians, ratios and our leecher's peak RSS.
// See docs/bench-throughput.md.
import { mkdirSync, rmSync } from 'node:fs'
import { loadavg } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { createTracker } from '../../tracker/index.ts'
import { FILE_NAME, makeFixture } from './fixture.ts'
import { aria2Leech, aria2Seed, type LeechResult, oursLeech, oursSeed, stopAll } from './sides.ts'

const USAGE = `usage: node bench/throughput/run.ts [options]
  --size MB        file size in MB (default 1024)
  --runs N         runs per side; the table shows the median (default 3)
  --piece-kb N     piece length in KiB (default: the packer's choice for the size)
  --no-aria2-seed  skip the aria2c seeder -> aria2c leecher pair
  --work DIR       work directory (default .bench-out/throughput)
  --profile DIR    run our leecher under node --cpu-prof, profiles into DIR
  --also DIR       also run the leecher of another checkout DIR (an A/B against
                   another commit: same seeder, runs interleaved)`

const { values } = parseArgs({
  options: {
    size: { type: 'string', default: '1024' },
    runs: { type: 'string', default: '3' },
    'piece-kb': { type: 'string' },
    'no-aria2-seed': { type: 'boolean', default: false },
    work: { type: 'string' },
    profile: { type: 'string' },
    also: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
})
if (values.help) {
  console.log(USAGE)
  process.exit(0)
}
const sizeMb = Number(values.size)
const runs = Number(values.runs)
if (!(sizeMb > 0) || !(Number.isInteger(runs) && runs > 0)) {
  console.error(USAGE)
  process.exit(2)
}
const size = Math.round(sizeMb * 1e6)
const work = resolve(values.work ?? join(import.meta.dirname, '../../.bench-out/throughput'))
const profileDir = values.profile ? resolve(values.profile) : undefined
const log = (l: string) => process.stderr.write(`bench: ${l}\n`)

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2
}
const mbps = (r: LeechResult) => size / 1e6 / (r.ms / 1000)

type Side = { name: string; fn: (dir: string) => Promise<LeechResult>; out: LeechResult[] }
const side = (name: string, fn: Side['fn']): Side => ({ name, fn, out: [] })

/** Runs the sides in turn, `runs` rounds (the first side swapped every round), so load hits them alike. */
async function leechRuns(...sides: Side[]): Promise<void> {
  for (let i = 0; i < runs; i++) {
    const order = i % 2 ? [...sides].reverse() : sides
    for (const s of order) {
      const dir = join(work, 'leech')
      rmSync(dir, { recursive: true, force: true })
      mkdirSync(dir, { recursive: true })
      const r = await s.fn(dir)
      s.out.push(r)
      log(
        `${s.name} run ${i + 1}: ${mbps(r).toFixed(1)} MB/s, cpu ${r.cpuS?.toFixed(2)} s${r.peakRssMb ? `, peak RSS ${r.peakRssMb} MB` : ''}, load ${loadavg()[0]?.toFixed(1)}`,
      )
      rmSync(dir, { recursive: true, force: true })
    }
  }
}

const tracker = createTracker({ http: { host: '127.0.0.1', port: 0 }, udp: false, announceIntervalSec: 5 })
process.on('SIGINT', () => {
  stopAll()
  process.exit(130)
})
try {
  await tracker.start()
  const seedDir = join(work, 'seed')
  mkdirSync(seedDir, { recursive: true })
  const pieceLength = values['piece-kb'] ? Number(values['piece-kb']) * 1024 : undefined
  log(`preparing ${sizeMb} MB ${FILE_NAME} and its torrent`)
  const fx = makeFixture(seedDir, size, `http://127.0.0.1:${tracker.httpPort}/announce`, pieceLength)
  log(`piece length ${fx.pieceLength / 1024} KiB, ${Math.ceil(size / fx.pieceLength)} pieces`)

  const seeder = await oursSeed(fx.torrentFile, seedDir)
  const load0 = loadavg()[0] as number
  const oursSide = side('ours  <- ours', (d) => oursLeech(fx.torrentFile, d, profileDir))
  const ariaSide = side('aria2 <- ours', (d) => aria2Leech(fx.torrentFile, d))
  const also = values.also ? resolve(values.also) : undefined
  const alsoSide = also ? side('ours (--also)', (d) => oursLeech(fx.torrentFile, d, undefined, also)) : undefined
  try {
    await leechRuns(oursSide, ariaSide, ...(alsoSide ? [alsoSide] : []))
  } finally {
    await seeder.stop()
  }
  const ours = oursSide.out
  const aria = ariaSide.out
  let ariaAria: LeechResult[] = []
  if (!values['no-aria2-seed']) {
    const s = await aria2Seed(fx.torrentFile, seedDir, 0)
    try {
      const aa = side('aria2 <- aria2', (d) => aria2Leech(fx.torrentFile, d))
      await leechRuns(aa)
      ariaAria = aa.out
    } finally {
      await s.stop()
    }
  }
  const load1 = loadavg()[0] as number
  const row = (name: string, rs: LeechResult[]) =>
    `${name.padEnd(30)} ${rs.map((r) => mbps(r).toFixed(1).padStart(8)).join('')}   median ${median(rs.map(mbps)).toFixed(1).padStart(7)} MB/s`
  const oursMed = median(ours.map(mbps))
  console.log(
    `\nthroughput, ${sizeMb} MB, piece ${fx.pieceLength / 1024} KiB, ${runs} runs, loopback (MB/s, wall clock)`,
  )
  console.log(row('ours leecher  <- ours seeder', ours))
  const inner = ours.map((r) => ({ ms: r.innerMs ?? r.ms }))
  console.log(row('  (ours, in-process transfer)', inner))
  if (alsoSide) console.log(row(`ours (${also}) <- ours`, alsoSide.out))
  console.log(row('aria2c leecher <- ours seeder', aria))
  if (ariaAria.length) console.log(row('aria2c leecher <- aria2c seeder', ariaAria))
  console.log(`ratio ours / aria2c (same seeder):  ${(oursMed / median(aria.map(mbps))).toFixed(2)}x`)
  if (ariaAria.length)
    console.log(`ratio ours / aria2c->aria2c:        ${(oursMed / median(ariaAria.map(mbps))).toFixed(2)}x`)
  console.log(`our leecher's peak RSS: median ${median(ours.map((r) => r.peakRssMb ?? 0))} MB`)
  const cpu = (rs: LeechResult[]) => median(rs.map((r) => r.cpuS ?? Number.NaN))
  const cpuRow = (name: string, rs: LeechResult[]) =>
    console.log(
      `${name.padEnd(30)} ${rs.map((r) => (r.cpuS ?? Number.NaN).toFixed(2).padStart(8)).join('')}   median ${cpu(rs).toFixed(2).padStart(7)} s = ${((cpu(rs) / size) * 1e9).toFixed(1)} CPU-ms/MB`,
    )
  console.log('leecher CPU (user + system, whole process):')
  cpuRow('  ours', ours)
  if (alsoSide) cpuRow(`  ours (${also})`, alsoSide.out)
  cpuRow('  aria2c <- ours', aria)
  if (ariaAria.length) cpuRow('  aria2c <- aria2c', ariaAria)
  console.log(`load average (1 min): ${load0.toFixed(1)} at the start, ${load1.toFixed(1)} at the end`)
} finally {
  stopAll()
  await tracker.stop()
}
