// `imgswarm serve`: tracker + first seeder + web seed + API in one process.
import { Command, Option } from 'commander'
import { type Config, loadConfig } from '../../common/config.ts'
import { createLogger } from '../../common/log.ts'
import { Store } from '../../seeder/index.ts'
import { createImageServer } from '../../seeder/serve.ts'

interface ServeOpts {
  store?: string
  config?: string
  host?: string
  port?: number
  publicUrl?: string
  torrentPort?: number
  plans?: string
  cluster?: string
  udp?: boolean
  peersCap?: number
  interval?: number
  numwant?: number
  dht?: boolean
  lsd?: boolean
  utp?: boolean
  upnp?: boolean
  natpmp?: boolean
  logLevel: string
}

const int = (v: string) => {
  const n = Number.parseInt(v, 10)
  if (!Number.isInteger(n) || n < 0) throw new Error(`${v} is not a non-negative integer`)
  return n
}

/** Flags win over the config file. */
function merge(c: Config, o: ServeOpts): Config['serve'] {
  const s = { ...c.serve }
  if (o.host !== undefined) s.host = o.host
  if (o.port !== undefined) s.port = o.port
  if (o.publicUrl !== undefined) s.publicUrl = o.publicUrl.replace(/\/+$/, '')
  else if (o.port !== undefined && c.file === undefined && !process.env.IMGSWARM_SERVER_URL) {
    s.publicUrl = s.publicUrl.replace(/:\d+$/, `:${o.port}`)
  }
  if (o.torrentPort !== undefined) s.torrentPort = o.torrentPort
  if (o.plans !== undefined) s.plansFile = o.plans
  if (o.cluster !== undefined) s.clusterFile = o.cluster
  if (o.udp === false) s.udp = false
  if (o.peersCap !== undefined) s.peersCap = o.peersCap
  if (o.interval !== undefined) s.intervalSec = o.interval
  if (o.numwant !== undefined) s.numwant = o.numwant
  for (const k of ['dht', 'lsd', 'utp'] as const) if (o[k]) s[k] = true
  if (o.upnp) s.natUpnp = true
  if (o.natpmp) s.natPmp = true
  return s
}

export function serveCommand(): Command {
  return new Command('serve')
    .description('run the image server: tracker, first seeder, BEP 19 web seed and HTTP API in one process')
    .addOption(new Option('--store <dir>', 'image store root (env IMGSWARM_STORE; default /var/lib/imgswarm)'))
    .addOption(new Option('--config <file>', 'config file (env IMGSWARM_CONFIG; default /etc/imgswarm/imgswarm.toml)'))
    .option('--host <addr>', 'address to listen on (default 0.0.0.0)')
    .option('--port <n>', 'API, web seed and HTTP/UDP tracker port (default 8470)', int)
    .option('--public-url <url>', 'URL nodes use to reach this server (default: server_url)')
    .option('--torrent-port <n>', 'BitTorrent peer port of the first seeder (default 8472)', int)
    .option('--plans <file>', 'install plans file (default STORE/plans.toml)')
    .option('--cluster <file>', 'cluster config, reread when it changes (default STORE/cluster.toml if it exists)')
    .option('--no-udp', 'no UDP tracker (HTTP announces only)')
    .option('--peers-cap <n>', 'tracker peers kept per swarm (default 100000)', int)
    .option('--interval <sec>', 'tracker announce interval (default 30)', int)
    .option('--numwant <n>', 'most peers returned per announce (default 200)', int)
    .option('--dht', 'enable DHT in the seeder (off: torrents are private)')
    .option('--lsd', 'enable local service discovery in the seeder')
    .option('--utp', 'enable uTP in the seeder')
    .option('--upnp', 'enable UPnP port mapping')
    .option('--natpmp', 'enable NAT-PMP port mapping')
    .option('--log-level <level>', 'trace, debug, info, warn, error', 'info')
    .addHelpText(
      'after',
      `
Endpoints (default port 8470):
  /announce /scrape          tracker (HTTP; UDP on the same port number)
  /stats /metrics            tracker statistics (JSON) and Prometheus metrics
  /webseed/images/FILE       BEP 19 web seed (HTTP ranges)
  /api/v1/...                images, torrents, manifests, plans, events, health (docs/api.md)

Admin calls need "Authorization: Bearer TOKEN"; serve creates the token on first start in
STORE/keys/admin.token (mode 0600). Stop with Ctrl-C or SIGTERM: in-flight requests finish.

Example:
  imgswarm serve --public-url http://10.0.0.1:8470`,
    )
    .action(async (o: ServeOpts) => {
      const config = loadConfig({ config: o.config, store: o.store })
      const cfg = merge(config, o)
      const logger = createLogger('serve', o.logLevel)
      const server = await createImageServer({
        store: new Store(config.store),
        serve: cfg,
        pack: { compression: config.compression, zstdLevel: config.zstdLevel, pieceLength: config.pieceLength },
        logger,
      })
      await server.start()
      logger.info(
        {
          api: `http://${cfg.host}:${server.apiPort}`,
          publicUrl: cfg.publicUrl,
          udpTracker: server.udpPort,
          torrentPort: server.torrentPort,
          seeding: server.seeder.status().torrents.length,
          adminTokenFile: server.adminTokenFile,
        },
        'imgswarm serve is up',
      )
      await new Promise<void>((resolve) => {
        const onSignal = (sig: string) => {
          logger.info({ signal: sig }, 'shutting down')
          server.stop().then(resolve, (e) => {
            logger.error({ err: e }, 'shutdown failed')
            resolve()
          })
        }
        process.once('SIGTERM', () => onSignal('SIGTERM'))
        process.once('SIGINT', () => onSignal('SIGINT'))
      })
    })
}
