// In-place store benchmark: put() every piece of a ~500 MB archive, in
// shuffled order, into an InPlaceStore (pieces split over ~20,000 files plus
// the side file) against the baseline of writing the same pieces, in the same
// order, into one file with fs.write. Same input, same run; prints MB/s and
// the ratio. Usage: node bench/inplace/run.ts [--size-mb 500] [--small 20000]
//   [--runs 3] [--piece-kib N] [--work DIR] [--keep]
import { randomBytes } from 'node:crypto'
import { constants as C } from 'node:fs'
import { mkdir, open, rm, stat, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { InPlaceStore, prepareInPlace, WORK_DIR } from '../../client/swarm/inplace/index.ts'
import { buildIndex, packTree, pieceOf, shuffled } from '../../test/swarm-store/helpers.ts'
import { median } from '../pack/report.ts'

const REPO = resolve(import.meta.dirname, '../..')
const log = (line: string) => process.stderr.write(`bench: ${line}\n`)

const { values } = parseArgs({
  options: {
    'size-mb': { type: 'string', default: '500' },
    small: { type: 'string', default: '20000' },
    runs: { type: 'string', default: '3' },
    'piece-kib': { type: 'string' },
    work: { type: 'string', default: join(REPO, '.bench-out/inplace') },
    keep: { type: 'boolean', default: false },
  },
})
const sizeMB = Number(values['size-mb'])
const small = Number(values.small)
const runs = Number(values.runs)
const work = resolve(values.work)

/** Small files of 1-16 KiB (about a third of the bytes at the defaults) and ten large ones. */
async function makeTree(tree: string): Promise<void> {
  let left = sizeMB * 1e6
  for (let i = 0; i < small; i++) {
    const d = join(tree, `usr/share/d${i % 200}`)
    if (i < 200) await mkdir(d, { recursive: true })
    const b = randomBytes(1024 + Math.floor(Math.random() * 15 * 1024))
    await writeFile(join(d, `f${i}`), b)
    left -= b.length
  }
  await mkdir(join(tree, 'opt/big'), { recursive: true })
  const each = Math.max(1, Math.floor(left / 10))
  for (let i = 0; i < 10; i++) {
    const fh = await open(join(tree, `opt/big/blob${i}`), 'w')
    for (let done = 0; done < each; done += 1 << 24) await fh.write(randomBytes(Math.min(1 << 24, each - done)))
    await fh.close()
  }
}

async function main(): Promise<void> {
  await rm(work, { recursive: true, force: true })
  await mkdir(work, { recursive: true })
  const tree = join(work, 'tree')
  log(`generating a ${sizeMB} MB tree with ${small} small files`)
  await makeTree(tree)
  log('packing')
  const pieceKiB = values['piece-kib'] === undefined ? 1024 : Number(values['piece-kib'])
  const p = await packTree(work, tree, pieceKiB * 1024)
  const index = await buildIndex(p.archive)
  await rm(tree, { recursive: true, force: true })
  const n = Math.ceil(p.size / p.pieceLength)
  const order = shuffled(n, 42)
  log(`archive ${(p.size / 1e6).toFixed(0)} MB, ${index.entries.length} entries, ${n} pieces of ${p.pieceLength} B`)

  const rows: { ours: number; base: number; prepare: number }[] = []
  let sideBytes = 0
  for (let r = 0; r < runs; r++) {
    // Ours: prepare (not timed in the put figure), then every piece through the store's put.
    const target = join(work, 'target')
    await rm(target, { recursive: true, force: true })
    let t0 = performance.now()
    const inplace = await prepareInPlace({ index, targetDir: target, pieceLength: p.pieceLength, infoHash: p.infoHash })
    const prepare = performance.now() - t0
    const store = new InPlaceStore(p.pieceLength, { inplace, length: p.size })
    sideBytes = (await stat(join(target, WORK_DIR, 'side'))).size
    let putMs = 0
    for (const i of order) {
      const buf = await pieceOf(p.archive, p.pieceLength, p.size, i)
      t0 = performance.now()
      await new Promise<void>((res, rej) => store.put(i, buf, (e) => (e ? rej(e) : res())))
      putMs += performance.now() - t0
    }
    await new Promise<void>((res) => store.close(() => res()))
    await rm(target, { recursive: true, force: true })

    // Baseline: the same pieces, same order, positional fs.write into one file.
    const file = join(work, 'baseline.tar')
    await rm(file, { force: true })
    const fh = await open(file, C.O_WRONLY | C.O_CREAT | C.O_TRUNC, 0o600)
    let baseMs = 0
    for (const i of order) {
      const buf = await pieceOf(p.archive, p.pieceLength, p.size, i)
      t0 = performance.now()
      await fh.write(buf, 0, buf.length, i * p.pieceLength)
      baseMs += performance.now() - t0
    }
    await fh.close()
    await rm(file, { force: true })
    rows.push({ ours: putMs, base: baseMs, prepare })
    log(
      `run ${r + 1}: ours ${putMs.toFixed(0)} ms (+ prepare ${prepare.toFixed(0)} ms), baseline ${baseMs.toFixed(0)} ms`,
    )
  }
  const mbps = (ms: number) => p.size / 1e6 / (ms / 1000)
  const ours = median(rows.map((x) => x.ours))
  const base = median(rows.map((x) => x.base))
  const prep = median(rows.map((x) => x.prepare))
  console.log(
    `archive: ${(p.size / 1e6).toFixed(0)} MB, ${index.entries.length} entries, pieces ${p.pieceLength} B, shuffled`,
  )
  console.log('side                              put MB/s   median ms')
  console.log(`InPlaceStore.put                  ${mbps(ours).toFixed(0).padStart(8)}   ${ours.toFixed(0).padStart(9)}`)
  console.log(`fs.write into one file            ${mbps(base).toFixed(0).padStart(8)}   ${base.toFixed(0).padStart(9)}`)
  console.log(`ratio (baseline MB/s / ours MB/s) ${(base === 0 ? 0 : ours / base).toFixed(2).padStart(8)}`)
  console.log(`prepareInPlace (tree layout)      ${''.padStart(8)}   ${prep.toFixed(0).padStart(9)}`)
  console.log(
    `prepare + put                     ${mbps(prep + ours)
      .toFixed(0)
      .padStart(8)}   ${(prep + ours).toFixed(0).padStart(9)}`,
  )
  console.log(`side file: ${sideBytes} bytes (${(sideBytes / index.entries.length).toFixed(0)} per entry)`)
  if (!values.keep) await rm(work, { recursive: true, force: true })
}

await main()
