// `imgswarm install`: plan -> disks -> swarm download with in-place
// extraction -> overrides -> identity -> bootloader -> flush -> report ->
// seed -> post-action. Every step is reported to the server; success is reported
// only after the whole image verified against the signed manifest.
import { lookup } from 'node:dns/promises'
import { isImgswarmError } from '../../common/errors.ts'
import type { EventStep } from '../../common/events.ts'
import { pinGlobally, pinnedFetch } from '../../common/https.ts'
import { formatBytes, formatDuration } from '../../common/progress.ts'
import { enrolNode } from '../agent/enrol.ts'
import { installBootloader } from '../bootloader/index.ts'
import type { ClientConfig } from '../config/index.ts'
import { applyIdentity } from '../identity/index.ts'
import { fetchVerifiedPlan, type VerifiedPlan } from '../plan/index.ts'
import { runPostAction } from '../postaction/index.ts'
import { runPostInstall } from '../postinstall/index.ts'
import { readFacts } from '../report/facts.ts'
import { createReporter } from '../report/index.ts'
import type { SwarmSession, SwarmStats } from '../swarm/engine/index.ts'
import { type ArtifactInstall, installImage, installOverride, type SwarmInit } from './artifact.ts'
import { createConsole } from './console.ts'
import { type Destination, prepareDestination } from './destination.ts'
import { installDirect } from './direct.ts'
import { flushTarget } from './flush.ts'

export { WORK_DIR } from './destination.ts'

export interface InstallOptions {
  cfg: ClientConfig
  /** A local install plan (JSON text) instead of the server's; still verified. */
  planText?: string | undefined
  signal?: AbortSignal | undefined
  /** Console lines. */
  out?: ((line: string) => void) | undefined
  /** Live swarm numbers, about once a second, for a progress bar. */
  onSwarm?: ((what: string, size: number, s: SwarmStats) => void) | undefined
  /** Where a disk's file systems are mounted; default /run/imgswarm/target. */
  mountDir?: string | undefined
  /** Longest time to keep seeding after the install; default 10 minutes. 0: do not seed. */
  seedMaxMs?: number | undefined
  /** Listen port for peers; default any. */
  port?: number | undefined
  /** grub-install --removable for UEFI. */
  removableEfi?: boolean | undefined
  /** Print the post-action instead of running it (tests, dry runs). */
  postDryRun?: boolean | undefined
}

export interface InstallResult {
  node: string
  image: string
  target: string
  inPlace: boolean
  image_stats: SwarmStats
  overrides: string[]
  post: string
  seconds: number
}

const DEFAULT_MOUNT_DIR = '/run/imgswarm/target'
const DEFAULT_SEED_MAX_MS = 10 * 60_000

function nodeName(cfg: ClientConfig, vp?: VerifiedPlan): string {
  return cfg.hostname ?? vp?.plan.node.hostname ?? cfg.mac ?? vp?.plan.node.mac ?? 'unknown'
}

export async function runInstall(o: InstallOptions): Promise<InstallResult> {
  const started = Date.now()
  const { cfg, signal } = o
  const con = createConsole(o.out ?? ((l) => process.stderr.write(`${l}\n`)))
  const reporter = createReporter({
    url: cfg.monitor ?? cfg.server,
    node: nodeName(cfg),
    onTrouble: (m) => con.warn(m),
  })
  const sessions: SwarmSession[] = []
  let dest: Destination | undefined
  let step: EventStep = 'config'
  const enter = (
    s: Parameters<typeof reporter.step>[0],
    message: string,
    extra?: Parameters<typeof reporter.step>[2],
  ) => {
    step = s
    con.say(`[${s}] ${message}`)
    reporter.step(s, message, extra)
  }
  // Bytes from the server (its web seed) and from peers, summed over the install's swarm sessions.
  const sources = new Map<string, { server: number; peers: number }>()
  const sum = (k: 'server' | 'peers') => [...sources.values()].reduce((a, v) => a + v[k], 0)
  // https://: every fetch of the install (plan, reports, and webtorrent's web seed and announces,
  // which use the global fetch) trusts only the pinned CA (docs/tls.md).
  const unpin = cfg.ca !== undefined ? pinGlobally(cfg.ca) : undefined
  const fetchImpl = cfg.ca !== undefined ? pinnedFetch(cfg.ca) : undefined
  try {
    enter(
      'config',
      o.planText === undefined
        ? `asking ${cfg.server} for this node's install plan`
        : 'using the install plan given with --plan',
      { facts: readFacts() },
    )
    const vp = await fetchVerifiedPlan(cfg, { signal, onStatus: con.say, planText: o.planText, fetchImpl })
    reporter.rename(nodeName(cfg, vp))
    const image = `${vp.image.artifact.name}@${vp.image.artifact.version}`
    const hostname = cfg.hostname ?? vp.plan.node.hostname ?? undefined
    const post = cfg.post ?? vp.plan.post

    enter('disks', cfg.disk === undefined ? `installing into ${cfg.targetDir}` : `preparing ${cfg.disk}`)
    dest = await prepareDestination(cfg, vp.plan, {
      mountDir: o.mountDir ?? DEFAULT_MOUNT_DIR,
      signal,
      say: con.say,
    })
    const target = dest.target
    const swarm: SwarmInit = {
      port: o.port,
      serverAddresses: await addressesOf(cfg.server),
      signal,
      say: con.say,
      warn: con.warn,
      onProgress: (what, size, s) => {
        o.onSwarm?.(what, size, s)
        sources.set(what, {
          server: s.bytesFromWebseed + s.bytesFromServerPeer,
          peers: s.bytesFromPeers - s.bytesFromServerPeer,
        })
        reporter.progress({
          step,
          percent: Math.min(100, Math.max(0, s.percent)),
          bytesDown: s.bytesDown,
          bytesUp: s.bytesUp,
          rateDown: s.rateDown,
          rateUp: s.rateUp,
          peers: s.peers,
          bytesFromServer: sum('server'),
          bytesFromPeers: sum('peers'),
        })
      },
    }

    enter('download', `${image}: ${formatBytes(vp.image.artifact.size)} from the swarm`)
    const img: ArtifactInstall = await installImage(vp.image, target, dest.resume, dest.mountPoints, swarm, (s, m) =>
      enter(s, m),
    )
    sessions.push(img.session)

    const overrides: string[] = []
    const nOverrides = vp.overrides.length + vp.direct.length
    if (nOverrides > 0) enter('overrides', `${nOverrides} override(s), in plan order`)
    for (const ov of vp.overrides) {
      const got = await installOverride(ov, target, swarm)
      sessions.push(got.session)
      overrides.push(`${ov.artifact.name}@${ov.artifact.version}`)
    }
    // Direct (secret) overrides last, from the server only (docs/secrets.md).
    for (const d of vp.direct) {
      await installDirect(d, target, { fetchImpl: fetchImpl ?? fetch, signal, say: con.say, warn: con.warn })
      overrides.push(`${d.artifact.name}@${d.artifact.version} (direct)`)
    }

    enter('identity', `host name ${hostname ?? '(from the image)'}, machine-id, ssh host keys, post-install scripts`)
    await applyIdentity(target, { hostname: hostname ?? null, fstab: dest.fstab, say: con.say })
    await runPostInstall(target, {
      env: {
        IMGSWARM_HOSTNAME: hostname ?? '',
        IMGSWARM_IMAGE: vp.image.artifact.name,
        IMGSWARM_VERSION: vp.image.artifact.version,
        IMGSWARM_SERVER: cfg.server,
        IMGSWARM_MAC: cfg.mac ?? vp.plan.node.mac ?? '',
        IMGSWARM_IP: cfg.ip?.mode === 'static' ? cfg.ip.address : (vp.plan.node.ip ?? ''),
        IMGSWARM_DISK: cfg.disk ?? '',
      },
      onOutput: (line) => con.say(`  | ${line}`),
      signal,
    })

    if (dest.applied !== undefined) {
      enter('bootloader', `GRUB on ${dest.applied.device}`)
      await installBootloader(target, dest.applied, { removable: o.removableEfi ?? false, say: con.say })
    }

    // The node's credential and agent (docs/agent.md): after the last step that can fail, before the
    // flush so that the key is on the disk; a refusal is a warning, not a failed install.
    if (o.planText === undefined) {
      await enrolNode(target, {
        server: cfg.server,
        token: vp.plan.enrolToken,
        pubkey: cfg.pubkey,
        ca: cfg.ca,
        fetchImpl,
        mac: cfg.mac,
        hostname: cfg.hostname ?? vp.plan.node.hostname ?? undefined,
        image,
        say: con.say,
        warn: con.warn,
      })
    }

    // Nothing counts as installed until the disk has taken it (flush.ts).
    await flushTarget({ target, mountPoints: dest.mountPoints, signal, say: con.say })

    const seedMax = o.seedMaxMs ?? DEFAULT_SEED_MAX_MS
    if (seedMax > 0) {
      enter('seed', `installed and verified; seeding to other nodes for at most ${formatDuration(seedMax / 1000)}`)
      await Promise.all(sessions.map((s) => s.seedWhileNeeded({ maxMs: seedMax, signal })))
    }
    const stats = img.session.stats()
    await closeAll(sessions)
    sessions.length = 0
    // Removes the whole work folder (overrides' staging included), keeping the root's times.
    await img.cleanup()

    const seconds = (Date.now() - started) / 1000
    enter(
      'done',
      `${image} installed in ${formatDuration(seconds)}; ${formatBytes(stats.bytesDown)} down ` +
        `(${formatBytes(stats.bytesFromPeers)} from peers), ${formatBytes(stats.bytesUp)} up`,
      { bytesFromServer: sum('server'), bytesFromPeers: sum('peers') },
    )
    await reporter.flush(10_000)
    enter('post', post)
    await reporter.flush(5_000)
    reporter.close()
    // kexec loads the installed kernel from the mounted target, then unmounts just before
    // jumping; every other action runs on cleanly unmounted disks.
    const mounted = dest
    dest = undefined
    const rootUuid = mounted.applied?.partitions.find((p) => p.mount === '/')?.uuid
    if (post !== 'kexec') await mounted.release()
    await runPostAction(post, {
      target,
      dryRun: o.postDryRun ?? false,
      say: con.say,
      ...(post === 'kexec' ? { beforeExecute: () => mounted.release() } : {}),
      ...(rootUuid === undefined ? {} : { rootUuid }),
    })
    if (post === 'kexec') await mounted.release()
    return {
      node: nodeName(cfg, vp),
      image,
      target,
      inPlace: img.inPlace,
      image_stats: stats,
      overrides,
      post,
      seconds,
    }
  } catch (e) {
    const code = isImgswarmError(e) ? e.code : 'IMGSWARM_ERR_INTERNAL'
    const message = e instanceof Error ? e.message : String(e)
    con.say(`[failed] during ${step}: ${message}`)
    reporter.failed(code, `${step}: ${message}`, con.tail())
    await closeAll(sessions).catch(() => undefined)
    await dest?.release().catch((err: unknown) => con.warn(`could not unmount: ${(err as Error).message}`))
    await reporter.flush(10_000)
    reporter.close()
    throw e
  } finally {
    unpin?.()
  }
}

async function closeAll(sessions: SwarmSession[]): Promise<void> {
  await Promise.all(sessions.map((s) => s.destroy()))
}

/** The server URL's addresses (an IP literal is its own); none when the name does not resolve. */
async function addressesOf(url: string): Promise<string[]> {
  try {
    const host = new URL(url).hostname.replace(/^\[(.*)\]$/, '$1')
    return (await lookup(host, { all: true })).map((a) => a.address)
  } catch {
    return []
  }
}
