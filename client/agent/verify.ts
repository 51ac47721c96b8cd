// A job names archives (a delta, overrides) the way an install plan does; the
// agent trusts none of it until the manifest verifies with the pinned key,
// agrees with the job, and the torrent agrees with the manifest.
import { errors } from '../../common/errors.ts'
import { verifyManifest } from '../../common/manifest.ts'
import type { PlanArtifact } from '../../common/plan.ts'
import { parseTorrentInfo } from '../../common/torrent.ts'
import type { VerifiedArtifact } from '../plan/index.ts'
import { checkTorrentAgainstManifest } from '../plan/verify.ts'
import type { AgentConfig } from './config.ts'
import { getBytes } from './http.ts'

const HEX64 = /^[0-9a-f]{64}$/
const HEX40 = /^[0-9a-f]{40}$/
const NAME = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$/
const PATH = /^\/(api\/v1|webseed)\/[A-Za-z0-9._+@/-]{1,300}$/

/** The job's artifact record, checked for shape before any of it is used. */
export function checkArtifact(v: unknown, where: string): PlanArtifact {
  const bad = (d: string) => errors.deltaInvalid(where, d)
  if (typeof v !== 'object' || v === null) throw bad('not an object')
  const a = v as Record<string, unknown>
  if (typeof a.name !== 'string' || !NAME.test(a.name)) throw bad('name')
  if (typeof a.version !== 'string' || !NAME.test(a.version)) throw bad('version')
  if (typeof a.infoHash !== 'string' || !HEX40.test(a.infoHash)) throw bad('infoHash')
  if (typeof a.sha256 !== 'string' || !HEX64.test(a.sha256)) throw bad('sha256')
  if (typeof a.size !== 'number' || !Number.isSafeInteger(a.size) || a.size < 0) throw bad('size')
  if (a.compression !== 'none' && a.compression !== 'zstd') throw bad('compression')
  for (const k of ['torrent', 'manifest', 'signature', 'webseed'] as const) {
    const p = a[k]
    if (typeof p !== 'string' || !PATH.test(p) || p.split('/').some((s) => s === '.' || s === '..')) throw bad(k)
  }
  return a as unknown as PlanArtifact
}

export async function verifyArtifact(
  cfg: AgentConfig,
  a: PlanArtifact,
  kind: 'delta' | 'override',
  signal?: AbortSignal,
): Promise<VerifiedArtifact> {
  const server = cfg.file.server
  const ref = `${kind} ${a.name}@${a.version}`
  const mf = await getBytes(server, a.manifest, 256 * 1024, signal)
  const sig = await getBytes(server, a.signature, 4096, signal)
  const manifest = verifyManifest(mf, sig, cfg.pubkey, `${server}${a.manifest}`)
  const pairs: Array<[string, unknown, unknown]> = [
    ['kind', manifest.kind, kind],
    ['name', manifest.name, a.name],
    ['version', manifest.version, a.version],
    ['torrent.infoHash', manifest.torrent.infoHash, a.infoHash],
    ['archive.size', manifest.archive.size, a.size],
    ['archive.sha256', manifest.archive.sha256, a.sha256],
  ]
  for (const [field, signed, job] of pairs) {
    if (signed !== job) {
      throw errors.planMismatch(
        ref,
        `the signed manifest says ${field} ${JSON.stringify(signed)}, the job says ${JSON.stringify(job)}`,
      )
    }
  }
  const torrent = await getBytes(
    server,
    a.torrent,
    Math.min(64 << 20, manifest.torrent.pieces * 20 + 256 * 1024),
    signal,
  )
  const torrentInfo = parseTorrentInfo(torrent, `${server}${a.torrent}`)
  checkTorrentAgainstManifest(torrentInfo, manifest, `${server}${a.torrent}`)
  return { artifact: a, manifest, torrent, torrentInfo, webseedUrl: `${server}${a.webseed}`, index: null }
}
