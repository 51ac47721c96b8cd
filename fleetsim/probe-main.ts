// The probe program (fleetsim/probe.ts starts it in a host's namespace):
//   node fleetsim/probe-main.ts recv PORT | send HOST PORT BYTES
import { receive, send } from './probe.ts'

const [mode, a, b, c] = process.argv.slice(2)
if (mode === 'recv') receive(Number(a))
else if (mode === 'send') send(a as string, Number(b), Number(c))
else {
  process.stderr.write('usage: probe-main.ts recv PORT | send HOST PORT BYTES\n')
  process.exit(2)
}
