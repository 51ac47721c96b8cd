// `imgswarm tracker`: the tracker on its own, for any P2P distribution (not
// only imgswarm images). Open by default; --allow restricts it to a list.
import { hostname } from 'node:os'
import { Command, Option } from 'commander'
import { createLogger } from '../../common/log.ts'
import { createTracker, DEFAULT_TRACKER_PORT, fileAllowList } from '../../tracker/index.ts'
import { wholeNumber } from '../shared.ts'

interface TrackerOpts {
  host?: string
  port: number
  udpPort?: number
  udp: boolean
  ws?: boolean
  allow?: string
  allowNetwork: string[]
  peersCap?: number
  interval?: number
  logLevel: string
}

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']

const EXAMPLES = `
Examples:
  imgswarm tracker                                  open tracker on port ${DEFAULT_TRACKER_PORT} (HTTP and UDP)
  imgswarm tracker --allow /etc/imgswarm/allow.txt  serve only the listed info hashes
  imgswarm tracker --allow-network 10.0.0.0/8 --allow-network fd00::/8
                                                    answer only peers from these networks
                                                    (announces, scrapes, /stats, /metrics)
  imgswarm tracker --host 10.0.0.1 --port 6969 --no-udp
  imgswarm tracker --port 0                         any free port (printed at start)

Clients announce to http://HOST:PORT/announce or udp://HOST:PORT.
The allow-list file holds one 40-hex info hash per line; # starts a comment.
It is re-read when it changes, no restart needed.
Stats: GET /stats (JSON), /metrics (Prometheus). Stop with Ctrl-C or SIGTERM.
Docs: docs/tracker.md`

export function trackerCommand(): Command {
  return new Command('tracker')
    .description('run a standalone BitTorrent tracker (HTTP and UDP/BEP 15) for any peer-to-peer distribution')
    .option('--host <addr>', 'address to listen on (default: all)')
    .option(
      '--port <n>',
      'HTTP port, and UDP port unless --udp-port',
      wholeNumber('--port', 0, 65535),
      DEFAULT_TRACKER_PORT,
    )
    .option('--udp-port <n>', 'UDP port (default: same number as --port)', wholeNumber('--udp-port', 0, 65535))
    .option('--no-udp', 'HTTP only, no UDP tracker')
    .option('--ws', 'also accept WebSocket announces (WebTorrent in browsers)')
    .option('--allow <file>', 'serve only the info hashes in this file (default: open tracker)')
    .option(
      '--allow-network <cidr>',
      'answer only this network (announces, scrapes, stats, metrics), like 10.0.0.0/8 (repeatable; default: any address)',
      (v: string, prev: string[]) => [...prev, v],
      [] as string[],
    )
    .option('--peers-cap <n>', 'most peers kept per swarm (default 100000)', wholeNumber('--peers-cap', 1, 10_000_000))
    .option('--interval <sec>', 'announce interval told to clients (default 30)', wholeNumber('--interval', 1, 86_400))
    .addOption(
      new Option('--log-level <level>', 'log detail on stderr')
        .choices(LEVELS)
        .default(process.env.IMGSWARM_LOG_LEVEL ?? 'info'),
    )
    .addHelpText('after', EXAMPLES)
    .action(async (o: TrackerOpts) => {
      const logger = createLogger('tracker', o.logLevel)
      const allow = o.allow === undefined ? undefined : fileAllowList(o.allow, { logger })
      await allow?.start()
      const tracker = createTracker({
        http: { host: o.host, port: o.port },
        udp: o.udp ? { host: o.host, port: o.udpPort } : false,
        ws: o.ws === true,
        allow,
        ...(o.allowNetwork.length > 0 ? { networks: o.allowNetwork } : {}),
        peersCacheLength: o.peersCap,
        announceIntervalSec: o.interval,
        refusalMessage: "unknown info hash: not in this tracker's allow-list; ask its operator to add it",
        logger,
      })
      try {
        await tracker.start()
      } catch (e) {
        await allow?.stop()
        throw e
      }
      const shown = o.host === undefined || o.host === '0.0.0.0' || o.host === '::' ? hostname() : o.host
      const h = shown.includes(':') ? `[${shown}]` : shown
      const lines = [
        'imgswarm tracker: listening',
        `  announce  http://${h}:${tracker.httpPort}/announce`,
        ...(tracker.udpPort === undefined ? [] : [`  announce  udp://${h}:${tracker.udpPort}`]),
        ...(o.ws ? [`  announce  ws://${h}:${tracker.httpPort}`] : []),
        `  stats     http://${h}:${tracker.httpPort}/stats   metrics  http://${h}:${tracker.httpPort}/metrics`,
        allow
          ? `  allow     ${o.allow} (${allow.size} info hashes, re-read on change)`
          : '  open tracker: any info hash is served (use --allow FILE to restrict)',
        ...(o.allowNetwork.length > 0
          ? [`  networks  ${o.allowNetwork.join(', ')} (requests from elsewhere refused)`]
          : []),
      ]
      process.stdout.write(`${lines.join('\n')}\n`)

      const signal = await new Promise<string>((resolve) => {
        process.once('SIGTERM', () => resolve('SIGTERM'))
        process.once('SIGINT', () => resolve('SIGINT'))
      })
      // A second signal while stopping means "now".
      const force = () => process.exit(130)
      process.once('SIGTERM', force)
      process.once('SIGINT', force)
      process.stderr.write(`imgswarm tracker: ${signal}, stopping\n`)
      await tracker.stop()
      await allow?.stop()
    })
}
