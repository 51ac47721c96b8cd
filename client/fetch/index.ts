// `imgswarm fetch`: content from the swarm into a directory, on any machine.
// Resolve and verify (signed manifest, torrent, index) before touching the
// disk; then the same download and extraction as an image install (in
// place for uncompressed archives, staged and safely extracted otherwise),
// the whole-archive SHA-256 check, a seeding phase, and an optional command.
// docs/content.md.
import type { KeyObject } from 'node:crypto'
import { lookup } from 'node:dns/promises'
import { formatBytes, formatDuration } from '../../common/progress.ts'
import type { RetryConfig } from '../config/index.ts'
import { installImage, type SwarmInit } from '../install/artifact.ts'
import type { SwarmStats } from '../swarm/engine/index.ts'
import { runExec } from './exec.ts'
import { resolveContent } from './resolve.ts'
import { type SeedPolicy, type SeedResult, scrapeUrl, seedPhase } from './seed.ts'
import { prepareTarget } from './target.ts'
import { withoutWebseeds } from './torrent.ts'

export type { SeedPolicy } from './seed.ts'

export interface FetchOptions {
  /** NAME or NAME@VERSION. */
  ref: string
  to: string
  /** Server base URL without a trailing slash. */
  server: string
  pubkey: KeyObject
  /** The admin token: needed for content published without --public. */
  token?: string | undefined
  /** Replace a non-empty `to` once the new content verified (built beside it, then renamed). */
  update?: boolean | undefined
  seed: SeedPolicy
  exec?: string | undefined
  port?: number | undefined
  retry?: RetryConfig | undefined
  signal?: AbortSignal | undefined
  say?: ((line: string) => void) | undefined
  warn?: ((line: string) => void) | undefined
  onProgress?: ((size: number, s: SwarmStats) => void) | undefined
  fetchImpl?: typeof fetch | undefined
}

export interface FetchResult {
  ref: string
  name: string
  version: string
  dir: string
  inPlace: boolean
  resumed: boolean
  replaced: boolean
  size: number
  sha256: string
  downloadSeconds: number
  bytesDown: number
  bytesFromServer: number
  bytesFromPeers: number
  bytesUp: number
  seed: SeedResult
  /** --exec's exit status; null without --exec. */
  exitCode: number | null
}

async function addressesOf(url: string): Promise<string[]> {
  try {
    const host = new URL(url).hostname.replace(/^\[(.*)\]$/, '$1')
    return (await lookup(host, { all: true })).map((a) => a.address)
  } catch {
    return []
  }
}

export async function runFetch(o: FetchOptions): Promise<FetchResult> {
  const say = o.say ?? (() => undefined)
  const warn = o.warn ?? say
  const started = Date.now()
  const { verified: a, public: isPublic } = await resolveContent(o.ref, {
    server: o.server,
    pubkey: o.pubkey,
    token: o.token,
    retry: o.retry ?? { attempts: 5, maxDelayMs: 10_000 },
    signal: o.signal,
    fetchImpl: o.fetchImpl,
    onStatus: say,
  })
  const ref = `${a.artifact.name}@${a.artifact.version}`
  const target = await prepareTarget(o.to, { update: o.update === true, infoHash: a.artifact.infoHash })
  // A web seed request carries no token: private content comes from the server's seeder and peers only.
  const artifact = isPublic ? a : { ...a, torrent: withoutWebseeds(a.torrent) }
  if (!isPublic) say(`${ref} is private: no web seed, pieces come from the server's seeder and peers`)
  const swarm: SwarmInit = {
    port: o.port,
    signal: o.signal,
    serverAddresses: await addressesOf(o.server),
    say,
    warn,
    onProgress: (_what, size, s) => o.onProgress?.(size, s),
  }
  say(`${ref}: ${formatBytes(a.artifact.size)} into ${target.root}${target.resume ? ' (resuming)' : ''}`)
  const got = await installImage(artifact, target.root, target.resume, [], swarm, (_s, m) => say(m))
  let seed: SeedResult
  try {
    const downloadSeconds = (Date.now() - started) / 1000
    say(`${ref}: verified in ${formatDuration(downloadSeconds)}`)
    const announce = a.torrentInfo.announce[0]
    seed = await seedPhase(got.session, o.seed, {
      scrape: announce === undefined ? undefined : scrapeUrl(announce, a.artifact.infoHash),
      signal: o.signal,
      say,
    })
    if (seed.ms > 0) say(`${ref}: seeded for ${formatDuration(seed.ms / 1000)} (${seed.reason})`)
    const s = got.session.stats()
    await got.session.destroy()
    await got.cleanup()
    await target.commit()
    const result: FetchResult = {
      ref,
      name: a.artifact.name,
      version: a.artifact.version,
      dir: target.dir,
      inPlace: got.inPlace,
      resumed: target.resume,
      replaced: target.replacing,
      size: a.artifact.size,
      sha256: a.manifest.archive.sha256,
      downloadSeconds,
      bytesDown: s.bytesDown,
      bytesFromServer: s.bytesFromWebseed + s.bytesFromServerPeer,
      bytesFromPeers: s.bytesFromPeers - s.bytesFromServerPeer,
      bytesUp: s.bytesUp,
      seed,
      exitCode: null,
    }
    if (o.exec !== undefined) {
      say(`running ${JSON.stringify(o.exec)} in ${target.dir}`)
      result.exitCode = await runExec(o.exec, {
        cwd: target.dir,
        env: {
          IMGSWARM_CONTENT: a.artifact.name,
          IMGSWARM_VERSION: a.artifact.version,
          IMGSWARM_DIR: target.dir,
        },
        signal: o.signal,
      })
    }
    return result
  } catch (e) {
    await got.session.destroy().catch(() => undefined)
    throw e
  }
}
