// Prints the fuzz campaigns' counts from .fuzz-results/*.json as a table
// (`npm run fuzz:report`; `-- --markdown` for docs/fuzz.md). Exit status 1
// when any target had a crash or a hang.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { CampaignResult } from './harness.ts'

const dir = join(import.meta.dirname, '../../.fuzz-results')
const markdown = process.argv.includes('--markdown')
let files: string[] = []
try {
  files = readdirSync(dir).filter((f) => f.endsWith('.json'))
} catch {
  process.stderr.write(`no results in ${dir}: run npm run test:fuzz (long) or vitest run test/fuzz (short) first\n`)
  process.exit(2)
}
const rows = files.map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as CampaignResult)
rows.sort((a, b) => a.target.localeCompare(b.target))
const head = [
  'target',
  'inputs tried',
  'accepted',
  'refused (coded)',
  'crashes',
  'hangs',
  'run time',
  'seed',
  'commit',
  'date',
]
const cells = rows.map((r) => [
  r.target,
  String(r.tried),
  String(r.accepted),
  String(r.refused),
  String(r.crashes),
  String(r.hangs),
  `${(r.ms / 1000).toFixed(1)} s`,
  String(r.seed),
  r.commit,
  r.date.slice(0, 16).replace('T', ' '),
])
const sum = (f: (r: CampaignResult) => number) => rows.reduce((s, r) => s + f(r), 0)
const total = {
  tried: sum((r) => r.tried),
  crashes: sum((r) => r.crashes),
  hangs: sum((r) => r.hangs),
  ms: sum((r) => r.ms),
}
if (markdown) {
  const line = (c: string[]) => `| ${c.join(' | ')} |`
  process.stdout.write(`${[line(head), line(head.map(() => '---')), ...cells.map(line)].join('\n')}\n`)
} else {
  const width = head.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] as string).length)))
  const line = (c: string[]) => c.map((x, i) => x.padEnd(width[i] as number)).join('  ')
  process.stdout.write(`${[line(head), ...cells.map(line)].join('\n')}\n`)
}
process.stdout.write(
  `\n${rows.length} targets, ${total.tried} inputs, ${total.crashes} crashes, ${total.hangs} hangs, ${(total.ms / 1000).toFixed(1)} s\n`,
)
for (const r of rows)
  for (const s of r.samples) process.stdout.write(`${r.target} ${s.kind}: ${s.detail}\n  input: ${s.input}\n`)
process.exit(total.crashes + total.hangs > 0 ? 1 : 0)
