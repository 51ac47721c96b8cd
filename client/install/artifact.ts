// Downloading one artifact (the image or an override) from the swarm into
// the target, and checking it against the signed manifest. Two ways:
// - in place: the image's pieces are written straight into their final
//   files (client/swarm/inplace, docs/in-place-extraction.md);
// - staged: the archive file is downloaded into our work folder on the
//   target disk (never RAM), verified, then safely extracted. Compressed
//   images and all overrides go this way.
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { lstat, mkdir, rm, utimes } from 'node:fs/promises'
import { join } from 'node:path'
import { extractArchive } from '../../common/archive/extract.ts'
import { openArchive } from '../../common/archive/index.ts'
import { errors } from '../../common/errors.ts'
import { quotePath } from '../../common/paths.ts'
import { formatBytes } from '../../common/progress.ts'
import type { VerifiedArtifact } from '../plan/index.ts'
import { type SwarmOptions, type SwarmSession, type SwarmStats, startSwarm } from '../swarm/engine/index.ts'
import { WORK_DIR } from './destination.ts'
import { installInPlace } from './inplace.ts'

export interface SwarmInit {
  port?: number | undefined
  signal?: AbortSignal | undefined
  say: (line: string) => void
  warn: (line: string) => void
  onProgress: (what: string, size: number, s: SwarmStats) => void
  /** The image server's addresses, to count its first seeder's bytes as the server's. */
  serverAddresses?: readonly string[]
}

export interface ArtifactInstall {
  session: SwarmSession
  inPlace: boolean
  /** Removes our work folder, keeping the root directory's times; call after seeding. */
  cleanup(): Promise<void>
}

type Step = 'download' | 'extract'

export function refOf(a: VerifiedArtifact): string {
  return `${a.manifest.kind} ${a.artifact.name}@${a.artifact.version}`
}

/** Starts the swarm for one artifact and waits until every piece is verified and stored. */
export async function download(
  a: VerifiedArtifact,
  extra: Partial<SwarmOptions>,
  init: SwarmInit,
): Promise<SwarmSession> {
  const what = refOf(a)
  const session = await startSwarm({
    torrent: a.torrent,
    ...(init.port === undefined ? {} : { port: init.port }),
    ...(init.signal === undefined ? {} : { signal: init.signal }),
    onProgress: (s) => init.onProgress(what, a.artifact.size, s),
    onWarning: init.warn,
    ...(init.serverAddresses === undefined ? {} : { serverAddresses: init.serverAddresses }),
    ...extra,
  })
  try {
    const st = await session.done
    init.say(
      `${what}: ${formatBytes(st.bytesDown)} downloaded (${formatBytes(st.bytesFromPeers)} from peers, ` +
        `${formatBytes(st.bytesFromWebseed)} from the web seed), ${st.piecesHadAtStart} piece(s) already on disk` +
        (st.peersBanned > 0 ? `, ${st.peersBanned} peer(s) banned for corrupt data` : ''),
    )
  } catch (e) {
    await session.destroy().catch(() => undefined)
    throw e
  }
  return session
}

export async function sha256Of(stream: AsyncIterable<Buffer | Uint8Array>): Promise<string> {
  const h = createHash('sha256')
  for await (const c of stream) h.update(c)
  return h.digest('hex')
}

export function checkSha(a: VerifiedArtifact, got: string, where: string): void {
  if (got !== a.manifest.archive.sha256) {
    throw errors.checksum(
      where,
      `SHA-256 ${got} does not match the signed manifest's ${a.manifest.archive.sha256}; the install is NOT good`,
    )
  }
}

/** Extracts a verified archive file into the target, through the safe-extraction rules. */
export async function extractStaged(
  file: string,
  target: string,
  what: string,
  init: Pick<SwarmInit, 'signal' | 'warn' | 'say'>,
): Promise<void> {
  const sig = init.signal === undefined ? {} : { signal: init.signal }
  const res = await extractArchive(openArchive(file, sig), target, {
    ...sig,
    onWarning: init.warn,
    onEntry: (e) => {
      // Our work folder is not the archive's to write into.
      const first = e.path
        .toString('latin1')
        .replace(/^(\.\/)+/, '')
        .split('/')[0]
      if (first === WORK_DIR) throw errors.pathEscape(quotePath(e.path), `${WORK_DIR} is reserved for the installer`)
    },
  })
  init.say(`${what}: ${res.entries} entries, ${formatBytes(res.bytes)} extracted`)
}

/** Staged: download the archive file onto the target disk, verify it whole, extract it safely. */
async function staged(a: VerifiedArtifact, target: string, init: SwarmInit, enter: (s: Step, m: string) => void) {
  const stage = join(target, WORK_DIR, 'stage', a.artifact.infoHash)
  await mkdir(stage, { recursive: true, mode: 0o700 })
  const session = await download(a, { path: stage }, init)
  try {
    const file = join(stage, a.torrentInfo.name)
    checkSha(a, await sha256Of(createReadStream(file, { highWaterMark: 1 << 20 })), file)
    enter('extract', `${refOf(a)}: SHA-256 verified; extracting`)
    await extractStaged(file, target, refOf(a), init)
  } catch (e) {
    await session.destroy().catch(() => undefined)
    throw e
  }
  return session
}

export async function installImage(
  a: VerifiedArtifact,
  target: string,
  resume: boolean,
  mountPoints: string[],
  init: SwarmInit,
  enter: (s: Step, m: string) => void,
): Promise<ArtifactInstall> {
  if (a.index !== null && a.manifest.archive.compression === 'none') {
    const got = await installInPlace(a, a.index, target, mountPoints, init, enter)
    return { session: got.session, inPlace: true, cleanup: () => got.target.cleanup() }
  }
  if (resume) await rm(join(target, WORK_DIR), { recursive: true, force: true })
  init.say(
    `${refOf(a)}: ${a.manifest.archive.compression === 'zstd' ? 'compressed' : 'no index'}: staging on the target disk`,
  )
  return { session: await staged(a, target, init, enter), inPlace: false, cleanup: () => removeWorkDir(target) }
}

export async function installOverride(a: VerifiedArtifact, target: string, init: SwarmInit): Promise<ArtifactInstall> {
  return { session: await staged(a, target, init, () => {}), inPlace: false, cleanup: () => removeWorkDir(target) }
}

/** Removes our work folder and puts the root directory's times back (the image set them). */
export async function removeWorkDir(target: string): Promise<void> {
  const st = await lstat(target)
  await rm(join(target, WORK_DIR), { recursive: true, force: true })
  await utimes(target, st.atime, st.mtime)
}
