// Prints the suite's closing line, "N passed, N failed, N skipped", from
// vitest's JSON report, so CI logs end with one plain count.
import { readFileSync } from 'node:fs'

const file = process.argv[2] ?? '.test-results.json'
let r
try {
  r = JSON.parse(readFileSync(file, 'utf8'))
} catch {
  console.error(`test summary: no report at ${file}`)
  process.exit(1)
}
const skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0)
console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped`)
