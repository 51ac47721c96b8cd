// `imgswarm agent`: the node agent (docs/agent.md). Runs on installed nodes as
// imgswarm-agent.service; --once and --root are for tests and rescue work.
import { resolve } from 'node:path'
import { Command } from 'commander'
import { printJson, wholeNumber } from '../shared.ts'

interface AgentOpts {
  root: string
  once?: boolean
  interval: number
  seedTime: number
  port?: number
  json?: boolean
}

export function agentCommand(): Command {
  return new Command('agent')
    .description("the node agent: runs this node's jobs from the server (delta updates, overrides)")
    .option('--root <dir>', 'act on the system mounted here instead of / (testing, rescue)', '/')
    .option('--once', 'one poll: run the pending jobs, then exit (status 1 if a job failed)')
    .option('--interval <sec>', 'seconds between polls', wholeNumber('--interval', 1, 86400), 30)
    .option(
      '--seed-time <sec>',
      'longest time to seed a downloaded delta to other nodes',
      wholeNumber('--seed-time', 0, 86400),
      60,
    )
    .option('--port <n>', 'TCP port for peers (default: any free port)', wholeNumber('--port', 1, 65535))
    .option('--json', 'with --once: print the jobs and their results as JSON')
    .addHelpText(
      'after',
      `
The agent reads ROOT/etc/imgswarm/agent.json (server, pinned key, node, image version) and
ROOT/etc/imgswarm/node.key (the node's ed25519 key, mode 0600), both written by the install when
the node enrolled. Every request to the server is signed with that key; the server refuses a
removed node, a node asked to reimage, a clock more than 5 minutes off, and replays.

Jobs come from the operator:
  imgswarm node update HOST|GROUP --to NAME@VER   delta over the swarm, applied in place
  imgswarm node push-overrides HOST|GROUP         the node's overrides extracted again

Files listed in ROOT/etc/imgswarm/update.exclude (and the node's identity) are never touched by an
update: see docs/node-update.md.

Examples:
  systemctl status imgswarm-agent                 the installed service
  imgswarm agent --once                           run what is pending now
  imgswarm agent --once --root /mnt/node1 --json  act on a mounted node's disk`,
    )
    .action(async (o: AgentOpts) => {
      const { runAgent } = await import('../../client/agent/index.ts')
      const ac = new AbortController()
      const stop = () => ac.abort()
      process.once('SIGINT', stop)
      process.once('SIGTERM', stop)
      const res = await runAgent({
        root: resolve(o.root),
        once: o.once ?? false,
        intervalMs: o.interval * 1000,
        seedMs: o.seedTime * 1000,
        ...(o.port === undefined ? {} : { port: o.port }),
        signal: ac.signal,
      })
      if (o.json) printJson(res)
      if (res.jobs.some((j) => j.status === 'failed')) process.exitCode = 1
    })
}
