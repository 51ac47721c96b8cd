// `imgswarm status`: the fleet's nodes as a table (state, progress bar,
// rates, peers, ETA, totals), live with --watch, JSON with --json.
import { Command, Option } from 'commander'
import { loadConfig } from '../../common/config.ts'
import { errors } from '../../common/errors.ts'
import { readAdminToken } from '../../seeder/api/auth.ts'
import { printJson } from '../shared.ts'
import {
  type FleetSummary,
  getJson,
  NODE_STATES,
  type NodeRow,
  nodesPath,
  type StatusServer,
} from '../status/client.ts'
import { renderTable } from '../status/render.ts'
import { watch } from '../status/watch.ts'

interface StatusOpts {
  server?: string
  token?: string
  watch?: boolean
  json?: boolean
  state?: string
  group?: string
  store?: string
  config?: string
}

const HELP = `
The admin token comes from --token, then IMGSWARM_TOKEN, then STORE/keys/admin.token
(readable when you run this on the server as root). The server URL from --server, then
IMGSWARM_SERVER_URL, then server_url in the config file.

Columns: NODE, STATE (discovered, idle, reimage-requested, installing, done, failed),
PROGRESS (bar and percent), DOWN and UP (bytes/s), PEERS, ETA; the last line sums them up
with the bytes the nodes got from the server and from each other.

Examples:
  imgswarm status                                  the table, once
  imgswarm status --watch                          live (Ctrl-C quits)
  imgswarm status --state failed --json | jq -r '.nodes[].id'
  imgswarm status --server http://10.0.0.1:8470 --token "$(cat admin.token)" --group gpu

Docs: docs/cli.md#status, docs/dashboard.md`

async function resolveServer(o: StatusOpts): Promise<StatusServer> {
  const config = loadConfig({ config: o.config, store: o.store })
  const url = (o.server ?? config.serverUrl).replace(/\/+$/, '')
  if (!/^https?:\/\/[^/\s]+/.test(url)) throw errors.usage(`--server ${JSON.stringify(url)}: expected http://HOST:PORT`)
  const token = o.token || process.env.IMGSWARM_TOKEN || (await readAdminToken(config.store).catch(() => undefined))
  return { url, token: token?.trim() || undefined }
}

export function statusCommand(): Command {
  return new Command('status')
    .description('show the fleet: every node with its state, progress, rates, peers and ETA (--watch: live)')
    .option('--server <url>', 'the image server (env IMGSWARM_SERVER_URL; default server_url)')
    .option('--token <token>', 'the admin token (env IMGSWARM_TOKEN; default STORE/keys/admin.token)')
    .option('-w, --watch', 'keep the table live from the server stream, redrawn in place')
    .option('--json', 'print JSON for scripts: {"nodes": [...]} (with --watch: one event per line)')
    .addOption(new Option('--state <state>', 'only nodes in this state').choices([...NODE_STATES]))
    .option('--group <group>', 'only nodes of this group')
    .addOption(new Option('--store <dir>', 'image store root, for the token file (env IMGSWARM_STORE)'))
    .addOption(new Option('--config <file>', 'config file (env IMGSWARM_CONFIG)'))
    .addHelpText('after', HELP)
    .action(async (o: StatusOpts) => {
      const server = await resolveServer(o)
      // `imgswarm status --watch --json | head`: a closed pipe ends the command quietly.
      process.stdout.on('error', (e: NodeJS.ErrnoException) => {
        if (e.code === 'EPIPE') process.exit(0)
        throw e
      })
      if (o.watch) {
        const ac = new AbortController()
        const stop = () => ac.abort()
        process.once('SIGINT', stop)
        process.once('SIGTERM', stop)
        try {
          await watch(server, { state: o.state, group: o.group, json: o.json }, ac.signal)
        } finally {
          process.off('SIGINT', stop)
          process.off('SIGTERM', stop)
        }
        return
      }
      const [list, fleet] = await Promise.all([
        getJson<{ nodes: NodeRow[] }>(server, nodesPath(o)),
        getJson<FleetSummary>(server, '/api/v1/fleet'),
      ])
      if (o.json) return printJson({ nodes: list.nodes })
      const tty = process.stdout.isTTY === true
      const lines = renderTable(list.nodes, fleet, {
        width: process.stdout.columns ?? 120,
        color: tty && !process.env.NO_COLOR,
        unicode: tty,
      })
      process.stdout.write(`${lines.join('\n')}\n`)
    })
}
