// The tracker: bittorrent-tracker's swarm logic behind our own listeners, so
// that we decide what reaches it (allow-list, sane numwant, BEP 15 handshake)
// and can count what it does not.
import { createServer, type Server as HttpServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import { Server } from 'bittorrent-tracker'
import { bencode } from '../common/bencode.ts'
import { errors } from '../common/errors.ts'
import { createLogger } from '../common/log.ts'
import { parseNetworks } from '../common/networks.ts'
import { connectionIds } from './connection-id.ts'
import {
  DEFAULT_ANNOUNCE_INTERVAL_SEC,
  DEFAULT_MAX_NUMWANT,
  DEFAULT_PEERS_CACHE_LENGTH,
  DEFAULT_TRACKER_PORT,
  PEER_TTL_INTERVALS,
} from './constants.ts'
import type { Tracker, TrackerInit } from './index.ts'
import { Counters, collectStats, renderMetrics } from './metrics.ts'
import { announceFilter, NETWORK_REFUSAL } from './policy.ts'
import { UdpFrontend } from './udp.ts'

export const DEFAULT_REFUSAL = 'unknown info hash: this tracker only serves images packed on this server'

function listenError(what: string, host: string | undefined, port: number, e: unknown) {
  const err = e as NodeJS.ErrnoException
  const where = `${host ?? 'all addresses'} port ${port}`
  const hint =
    err.code === 'EADDRINUSE'
      ? `another program uses ${what} port ${port} (find it with: ss -lntup | grep :${port}); stop it, or choose another port (--port / --udp-port)`
      : err.code === 'EACCES'
        ? 'ports below 1024 need root or CAP_NET_BIND_SERVICE; choose a port above 1024'
        : err.code === 'EADDRNOTAVAIL'
          ? `${host} is not an address of this machine; check --host`
          : 'check --host and --port'
  return errors.listen(what, where, err.code ?? err.message, hint)
}

/** The API's error shape (`{ error: { code, message, hint } }`) for a refused source. */
function networkErrorBody(what: string, address: string | undefined): string {
  const e = errors.networkNotAllowed(what, address ?? 'this address')
  return JSON.stringify({ error: { code: e.code, message: e.message, hint: e.hint } })
}

export function createTrackerImpl(init: TrackerInit): Tracker {
  const log = init.logger ?? createLogger('tracker')
  const intervalSec = init.announceIntervalSec ?? DEFAULT_ANNOUNCE_INTERVAL_SEC
  const counters = new Counters()
  const networks = init.networks === undefined ? undefined : parseNetworks(init.networks, 'tracker networks')
  /** True (and counted) when the networks are set and `address` is outside them. */
  const refusedFrom = (address: string | undefined, what: string): boolean => {
    if (networks === undefined || networks.contains(address ?? '')) return false
    counters.refusedNetwork++
    log.debug({ ip: address, what }, 'request refused: address not in the allowed networks')
    return true
  }
  const library = new Server({
    http: false,
    udp: false,
    ws: init.ws ? { noServer: true } : false,
    stats: false,
    interval: intervalSec * 1000,
    peersCacheLength: init.peersCacheLength ?? DEFAULT_PEERS_CACHE_LENGTH,
    peersCacheTtl: PEER_TTL_INTERVALS * intervalSec * 1000,
    filter: announceFilter({
      allow: init.allow,
      networks,
      maxNumwant: init.maxNumwant ?? DEFAULT_MAX_NUMWANT,
      refusal: init.refusalMessage ?? DEFAULT_REFUSAL,
      onAccepted: (h) => counters.announce(h),
      onRefused: (h) => {
        counters.refused++
        log.debug({ infoHash: h }, 'announce refused: info hash not allowed')
      },
      // HTTP and UDP announces from outside are refused before the library; this catches WebSocket ones.
      onRefusedNetwork: (ip) => refusedFrom(ip, 'announce'),
    }),
  })
  // 'warning' is a client's bad request; 'error' would throw if nobody listened.
  library.on('warning', (err: Error) => {
    counters.failed++
    log.debug({ err: err.message }, 'request failed')
  })
  library.on('error', (err: Error) => log.error({ err }, 'tracker error'))

  const udp = new UdpFrontend({
    library,
    ids: connectionIds(),
    counters,
    log,
    refused: (address, what) => refusedFrom(address, what),
  })
  let httpServer: HttpServer | undefined
  let httpPort: number | undefined
  let udpPort: number | undefined
  let sweep: NodeJS.Timeout | undefined
  let starting: Promise<void> | undefined
  let stopping: Promise<void> | undefined

  const stats = () => collectStats(library.torrents, counters)

  // The library checks a peer's age only when it touches it, and never drops a
  // swarm: walk them now and then so dead peers and empty swarms go away.
  const sweepSwarms = () => {
    for (const [infoHash, swarm] of Object.entries(library.torrents)) {
      for (const key of swarm.peers.keys) swarm.peers.peek(key)
      if (swarm.peers.length === 0) {
        delete library.torrents[infoHash]
        counters.announcesBySwarm.delete(infoHash)
      }
    }
  }

  const handleHttp = (req: IncomingMessage, res: ServerResponse): boolean => {
    const url = req.url ?? '/'
    const q = url.indexOf('?')
    const path = q < 0 ? url : url.slice(0, q)
    if (path !== '/announce' && path !== '/scrape' && path !== '/stats' && path !== '/metrics') return false
    if (stopping) {
      res.writeHead(503, { 'Content-Type': 'text/plain', Connection: 'close' }).end('tracker stopping\n')
      return true
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain' }).end('use GET\n')
      return true
    }
    // Every tracker path from outside the networks: announces and scrapes get a BEP 3 failure
    // reason (what a client shows), /stats and /metrics a 403, as they name the served hashes.
    if (refusedFrom(req.socket.remoteAddress, path.slice(1))) {
      if (path === '/announce' || path === '/scrape') {
        res.writeHead(200, { 'Content-Type': 'text/plain' }).end(bencode({ 'failure reason': NETWORK_REFUSAL }))
      } else {
        res.writeHead(403, { 'Content-Type': 'application/json' }).end(networkErrorBody(path, req.socket.remoteAddress))
      }
      return true
    }
    if (path === '/stats') {
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(stats()))
    } else if (path === '/metrics') {
      res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4' }).end(renderMetrics(stats(), counters))
    } else {
      res.setHeader('Content-Type', 'text/plain')
      try {
        library.onHttpRequest(req, res, { action: path === '/announce' ? 'announce' : 'scrape' })
      } catch (err) {
        log.warn({ err }, 'announce handling failed')
        if (!res.headersSent) res.writeHead(500).end()
      }
    }
    return true
  }

  const handleUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): boolean => {
    const ws = library.ws
    const path = (req.url ?? '/').split('?')[0]
    if (!ws || stopping || (path !== '/' && path !== '/announce')) return false
    // Refused at the upgrade: an outsider never holds a WebSocket open, and its scrapes are refused too.
    if (refusedFrom(req.socket.remoteAddress, 'websocket')) {
      const body = networkErrorBody('WebSocket announce', req.socket.remoteAddress)
      socket.end(
        `HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      )
      return true
    }
    ws.handleUpgrade(req, socket, head, (conn) => ws.emit('connection', conn, req))
    return true
  }

  const listenHttp = async (host: string | undefined, port: number): Promise<number> => {
    const server = createServer((req, res) => {
      if (!handleHttp(req, res)) res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not a tracker path\n')
    })
    // A slow or silent client must not hold a connection for long.
    server.headersTimeout = 10_000
    server.requestTimeout = 15_000
    if (init.ws) server.on('upgrade', (req, socket, head) => handleUpgrade(req, socket, head) || socket.destroy())
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, host, () => {
        server.off('error', reject)
        resolve()
      })
    }).catch((e) => {
      throw listenError('HTTP', host, port, e)
    })
    server.on('error', (err) => log.warn({ err }, 'http server error'))
    httpServer = server
    const addr = server.address()
    return typeof addr === 'object' && addr !== null ? addr.port : port
  }

  const doStart = async () => {
    const httpOpt = init.http ?? {}
    const udpOpt = init.udp ?? {}
    if (httpOpt !== false) httpPort = await listenHttp(httpOpt.host, httpOpt.port ?? DEFAULT_TRACKER_PORT)
    if (udpOpt !== false) {
      // Same number as HTTP unless told otherwise: one port to open in the firewall.
      const port = udpOpt.port ?? httpPort ?? DEFAULT_TRACKER_PORT
      const host = udpOpt.host ?? (httpOpt === false ? undefined : httpOpt.host)
      try {
        udpPort = await udp.listen(host, port)
      } catch (e) {
        await closeHttp()
        throw listenError('UDP', host, port, e)
      }
    }
    sweep = setInterval(sweepSwarms, Math.max(intervalSec, 10) * 1000)
    sweep.unref()
    log.info(
      { httpPort, udpPort, ws: !!init.ws, allowList: init.allow !== undefined, networks: networks?.networks },
      'tracker listening',
    )
  }

  const closeHttp = async () => {
    const server = httpServer
    httpServer = undefined
    if (!server) return
    const closed = new Promise<void>((resolve) => server.close(() => resolve()))
    server.closeIdleConnections()
    // Announces answer in microseconds: whatever is still open after a moment is idle keep-alive or stuck.
    const force = setTimeout(() => server.closeAllConnections(), 1000)
    await closed
    clearTimeout(force)
  }

  return {
    start() {
      if (stopping) return Promise.reject(new Error('tracker stopped; create a new one'))
      starting ??= doStart()
      return starting
    },
    stop() {
      stopping ??= (async () => {
        await starting?.catch(() => undefined)
        if (sweep) clearInterval(sweep)
        await udp.close()
        await closeHttp()
        library.udp4 = library.udp6 = null
        await new Promise<void>((resolve) => library.close(() => resolve()))
        log.info('tracker stopped')
      })()
      return stopping
    },
    handleHttp,
    handleUpgrade,
    stats,
    metrics: () => renderMetrics(stats(), counters),
    get httpPort() {
      return httpPort
    },
    get udpPort() {
      return udpPort
    },
  }
}
