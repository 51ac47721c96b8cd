// A process that owns a fleet, for the crash and signal tests: it builds a
// small fleet with the tag given, starts a long sleep inside a node host,
// prints "ready NETNS SLEEP_PID" and waits to be killed.
import { createFleet } from '../../fleetsim/index.ts'

const tag = process.argv[2] ?? 'child'
const fleet = await createFleet({ nodes: 2, nodeUpBps: 10e6, nodeDownBps: 10e6, serverUpBps: 10e6, tag })
const sleeper = fleet.nodes[0]?.spawn('sleep', ['1000'], { stdio: 'ignore' })
process.stdout.write(`ready ${fleet.nodes[0]?.netns} ${sleeper?.pid}\n`)
setInterval(() => {}, 1000)
