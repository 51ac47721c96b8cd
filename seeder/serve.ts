// `imgswarm serve`: the tracker, the first seeder, the web seed and the API
// in one process. Start order: tracker, seeder, then HTTP (so the API is
// ready when it answers); stop order is the reverse, each step graceful.
import { existsSync } from 'node:fs'
import { networkInterfaces } from 'node:os'
import { join } from 'node:path'
import type { DatabaseSync } from 'node:sqlite'
import type { FastifyInstance } from 'fastify'
import type { ServeConfig } from '../common/config.ts'
import { errors } from '../common/errors.ts'
import type { Logger } from '../common/log.ts'
import { createTracker, setAllowList, type Tracker } from '../tracker/index.ts'
import { createApi, type EventSink, loadOrCreateAdminToken, type PlanSource } from './api/index.ts'
import { openPlanSource } from './cluster/index.ts'
import { FLEET_DB_FILE, type Fleet, fleetEventSink, openFleet, openFleetDatabase } from './fleet/index.ts'
import { createNotifier } from './notify/index.ts'
import { type PackOptions, packVersion } from './packer/pack.ts'
import { createPower, type Power } from './power/index.ts'
import { createScheduler, type Scheduler } from './schedule/index.ts'
import { PUBLIC_KEY_FILE } from './store/keys.ts'
import type { PackedInfo, Store } from './store/store.ts'
import { FirstSeeder } from './swarm/first-seeder.ts'
import { startTls } from './tls/serve.ts'

export interface ImageServerInit {
  store: Store
  serve: ServeConfig
  /** Options for admin pack calls (announce/webseed default to this server). */
  pack: Omit<PackOptions, 'announce' | 'webseeds'>
  logger: Logger
}

export interface ImageServer {
  start(): Promise<void>
  stop(): Promise<void>
  readonly apiPort: number | undefined
  readonly udpPort: number | undefined
  readonly torrentPort: number | undefined
  readonly adminTokenFile: string
  readonly seeder: FirstSeeder
  readonly tracker: Tracker
  /** The fleet database, once started. */
  readonly fleet: Fleet | undefined
  /** The scheduler (docs/schedules.md), once started. */
  readonly scheduler: Scheduler | undefined
}

/** Every address of this host's interfaces, loopback included. */
function ownAddresses(): string[] {
  return Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((a) => a.address))
}

function listenError(e: unknown, what: string, addr: string): unknown {
  return (e as NodeJS.ErrnoException)?.code === 'EADDRINUSE' ? errors.portInUse(what, addr) : e
}

export async function createImageServer(init: ImageServerInit): Promise<ImageServer> {
  const { store, serve: cfg, logger } = init
  if (!existsSync(store.root)) throw errors.storeMissing(store.root)
  const pubFile = join(store.keysDir, PUBLIC_KEY_FILE)
  if (!existsSync(pubFile)) throw errors.keyMissing(pubFile)

  const trackerOpts: Record<string, unknown> = {}
  // Direct overrides (docs/secrets.md) are never seeded nor allowed on the tracker.
  const isDirect = (kind: string, name: string) => kind === 'override' && plans?.directOverrides?.().has(name) === true
  let tlsStop: (() => void) | undefined
  const allow = setAllowList([])
  let allowed = new Set<string>()
  const syncAllowList = (packed: { kind: string; info: PackedInfo }[]) => {
    const hashes = new Set(
      packed.filter((p) => !isDirect(p.kind, p.info.manifest.name)).map((p) => p.info.manifest.torrent.infoHash),
    )
    for (const h of hashes) allow.add(h)
    for (const h of allowed) if (!hashes.has(h)) allow.delete(h)
    allowed = hashes
  }

  const tracker = createTracker({
    http: false,
    udp: cfg.udp ? { host: cfg.host, port: cfg.port } : false,
    allow,
    // The first seeder announces from this host's own addresses: always answered.
    networks: cfg.trackerNetworks && [...cfg.trackerNetworks, ...ownAddresses()],
    peersCacheLength: cfg.peersCap,
    announceIntervalSec: cfg.intervalSec,
    maxNumwant: cfg.numwant,
    logger: logger.child({ component: 'tracker' }),
  })
  const seeder = new FirstSeeder({
    store,
    announce: [`${cfg.publicUrl}/announce`],
    port: cfg.torrentPort,
    host: cfg.host === '0.0.0.0' ? undefined : cfg.host,
    dht: cfg.dht,
    lsd: cfg.lsd,
    utp: cfg.utp,
    natUpnp: cfg.natUpnp,
    natPmp: cfg.natPmp,
    uploadLimit: cfg.uploadLimit,
    pollMs: 0,
    logger: logger.child({ component: 'seeder' }),
    // Filled in at start when serve.tls is on: the seeder announces to our HTTPS tracker.
    ...(cfg.tls ? { trackerOpts } : {}),
    skip: (kind, info) => isDirect(kind, info.manifest.name),
  })
  const adminTokenFile = join(store.keysDir, 'admin.token')
  let api: FastifyInstance | undefined
  let poll: NodeJS.Timeout | undefined
  let events: EventSink | undefined
  let fleet: Fleet | undefined
  let plans: PlanSource | undefined
  let scheduler: Scheduler | undefined
  let schedulerDb: DatabaseSync | undefined
  let power: Power | undefined
  let stopped = false

  // One walk of the store feeds both the tracker's allow-list and the seeder.
  // Refreshes are coalesced: an older listing must never be applied after a
  // newer one (it would drop a fresh pack from the allow-list).
  let refreshing: Promise<void> | undefined
  const refresh = (): Promise<void> =>
    (refreshing ??= (async () => {
      const packed = await store.allPacked()
      syncAllowList(packed)
      await seeder.refresh(packed)
    })().finally(() => {
      refreshing = undefined
    }))

  return {
    get apiPort() {
      const a = api?.server.address()
      return a && typeof a === 'object' ? a.port : undefined
    },
    get udpPort() {
      return tracker.udpPort
    },
    get torrentPort() {
      return seeder.port
    },
    adminTokenFile,
    seeder,
    tracker,
    get fleet() {
      return fleet
    },
    get scheduler() {
      return scheduler
    },

    async start() {
      // The power file first: a broken one stops the start before anything listens.
      if (cfg.schedule) power = createPower({ config: cfg.schedule.power, storeRoot: store.root })
      try {
        await tracker.start()
      } catch (e) {
        throw listenError(e, 'the UDP tracker', `${cfg.host}:${cfg.port}/udp`)
      }
      // Node events, the inventory and the install history: STORE/fleet.db (docs/fleet-database.md).
      fleet = openFleet(
        { file: join(store.root, FLEET_DB_FILE) },
        { plans: () => plans, logger: logger.child({ component: 'fleet' }) },
      )
      fleet.start()
      events = fleetEventSink(fleet)
      // The cluster config if configured or present, else plans.toml. A
      // missing file means no plans yet; a reload (or, for the cluster
      // config, the file appearing) picks it up.
      plans = await openPlanSource({
        storeRoot: store.root,
        clusterFile: cfg.clusterFile,
        plansFile: cfg.plansFile,
        logger: logger.child({ component: 'cluster' }),
      })
      // After the plans: they say which overrides are direct, and those never reach the allow-list.
      syncAllowList(await store.allPacked())
      // Schedules, power control and notifications (docs/schedules.md). The
      // scheduler has a connection of its own to the fleet database.
      const sc = cfg.schedule
      if (sc) {
        const notifier = createNotifier(
          { config: sc.notify, server: cfg.publicUrl },
          { logger: logger.child({ component: 'notify' }) },
        )
        schedulerDb = openFleetDatabase(join(store.root, FLEET_DB_FILE))
        scheduler = createScheduler(
          { db: schedulerDb, catchUpSec: sc.catchUpSec, timeoutSec: sc.timeoutSec },
          {
            fleet,
            power,
            notifier: notifier.channels.length > 0 ? notifier : undefined,
            logger: logger.child({ component: 'schedule' }),
          },
        )
      }
      const tls = cfg.tls
        ? await startTls(cfg.tls, { keysDir: store.keysDir, publicUrl: cfg.publicUrl, trackerOpts, logger })
        : undefined
      api = await createApi({
        https: tls?.pair(),
        allowInsecureDirect: cfg.allowInsecureDirect ?? false,
        store,
        adminToken: await loadOrCreateAdminToken(store.root),
        plans,
        events,
        fleet,
        scheduler: () => scheduler,
        power: () => power,
        swarms: {
          trackerSwarms: () => tracker.stats().swarms,
          seeded: () => seeder.status().torrents,
          availability: (infoHash) => seeder.pieceAvailability(infoHash),
        },
        publicUrl: cfg.publicUrl,
        tracker,
        seeder: { ready: () => seeder.ready(), status: () => seeder.status(), refresh },
        uploadThrottle: () => seeder.uploadThrottle(),
        pack: async (kind, ref) => {
          const res = await packVersion(store, kind, ref, {
            ...init.pack,
            announce: [`${cfg.publicUrl}/announce`],
            webseeds: [`${cfg.publicUrl}/webseed/`],
          })
          await refresh()
          return res.info.manifest
        },
        logger: logger.child({ component: 'api' }),
        nodeReadsRestricted: cfg.restrictNodeReads,
        bootCmdline: cfg.bootCmdline,
        ...(cfg.rateLimit ? { nodeRoutes: { rateLimit: cfg.rateLimit } } : {}),
      })
      try {
        await api.listen({ host: cfg.host, port: cfg.port })
      } catch (e) {
        await tracker.stop()
        throw listenError(e, 'the API', `${cfg.host}:${cfg.port}`)
      }
      tlsStop = tls?.watch(api.server)
      // The seeder announces over HTTP to the tracker mounted in the API, so
      // it starts once the API listens (readiness says false until then).
      try {
        await seeder.start()
      } catch (e) {
        await api.close()
        await tracker.stop()
        throw listenError(e, 'the seeder', `${cfg.host}:${cfg.torrentPort}`)
      }
      // New packs (from the CLI in another process) appear without a restart.
      poll = setInterval(() => {
        refresh().catch((e) => logger.warn({ err: e }, 'store refresh failed'))
      }, 5000)
      poll.unref()
      // Last: runs missed while the server was down (docs/schedules.md) may reimage and wake nodes at once.
      await scheduler?.start()
    },

    async stop() {
      if (stopped) return
      stopped = true
      if (poll) clearInterval(poll)
      // No new run may start while the rest shuts down; a run in progress finishes first.
      await scheduler?.stop()
      schedulerDb?.close()
      tlsStop?.()
      // Finish in-flight HTTP first, then stop announcing and seeding.
      await api?.close().catch((e) => logger.warn({ err: e }, 'closing the API failed'))
      await seeder.stop()
      await tracker.stop()
      plans?.close?.()
      await fleet?.stop()
    },
  }
}
