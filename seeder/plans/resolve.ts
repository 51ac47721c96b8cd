// Turns a configured plan into the InstallPlan a node receives: every ref
// resolved to a packed version with its hashes. All or nothing: a plan that
// names anything missing or unpacked is refused, never served in part.
import { errors } from '../../common/errors.ts'
import { formatRef, parseRef } from '../../common/names.ts'
import type { DirectArtifact } from '../../common/plan.ts'
import type { Kind, PackedInfo } from '../store/store.ts'
import { type InstallPlan, PLAN_API_VERSION, type PlanArtifact, type PlanSpec } from './types.ts'

/** What resolution needs from the store (the API's cached catalog provides it). */
export interface ArtifactLookup {
  versions(kind: Kind, name: string): Promise<string[]>
  packed(kind: Kind, name: string, version: string): Promise<PackedInfo | undefined>
  latestPacked(kind: Kind, name: string): Promise<string | undefined>
}

const PLURAL: Record<Kind, string> = { image: 'images', override: 'overrides', content: 'content', delta: 'deltas' }

export function artifactUrls(kind: Kind, name: string, version: string, file: string) {
  const base = `/api/v1/${PLURAL[kind]}/${name}/${version}`
  return {
    torrent: `${base}/torrent`,
    manifest: `${base}/manifest`,
    signature: `${base}/manifest.sig`,
    webseed: `/webseed/${PLURAL[kind]}/${file}`,
    index: `${base}/index`,
  }
}

/** Resolves `NAME` (latest packed version now) or `NAME@VER` to a packed version; undefined with a reason otherwise. */
export async function resolveRef(
  lookup: ArtifactLookup,
  kind: Kind,
  ref: string,
): Promise<{ name: string; version: string; packed: PackedInfo } | { problem: string }> {
  const r = parseRef(ref, kind)
  if (r.version === undefined) {
    const versions = await lookup.versions(kind, r.name)
    if (versions.length === 0) return { problem: `${kind} ${r.name} does not exist` }
    const latest = await lookup.latestPacked(kind, r.name)
    if (latest === undefined) return { problem: `${kind} ${r.name} has no packed version` }
    const packed = await lookup.packed(kind, r.name, latest)
    if (!packed) return { problem: `${kind} ${formatRef(r.name, latest)} is not packed` }
    return { name: r.name, version: latest, packed }
  }
  const packed = await lookup.packed(kind, r.name, r.version)
  if (packed) return { name: r.name, version: r.version, packed }
  const versions = await lookup.versions(kind, r.name)
  return {
    problem: versions.includes(r.version) ? `${kind} ${ref} is not packed` : `${kind} ${ref} does not exist`,
  }
}

/** A packed version's plan entry: its info hash, sizes and the URLs of its pieces of proof. */
export function artifact(kind: Kind, name: string, version: string, p: PackedInfo): PlanArtifact {
  const m = p.manifest
  const urls = artifactUrls(kind, name, version, m.archive.file)
  return {
    name,
    version,
    infoHash: m.torrent.infoHash,
    torrent: urls.torrent,
    manifest: urls.manifest,
    signature: urls.signature,
    webseed: urls.webseed,
    size: m.archive.size,
    sha256: m.archive.sha256,
    compression: m.archive.compression,
    index: m.index === undefined ? null : urls.index,
  }
}

/** A direct override's entry: no torrent, no info hash, URLs under /api/v1/direct/ (docs/secrets.md). */
function directArtifact(name: string, version: string, p: PackedInfo): DirectArtifact {
  const base = `/api/v1/direct/overrides/${name}/${version}`
  const m = p.manifest.archive
  return {
    name,
    version,
    size: m.size,
    sha256: m.sha256,
    compression: m.compression,
    manifest: `${base}/manifest`,
    signature: `${base}/manifest.sig`,
    archive: `${base}/archive`,
  }
}

/** `direct`: override names that go into the plan's direct list instead of its swarm overrides. */
export async function resolvePlan(
  lookup: ArtifactLookup,
  spec: PlanSpec,
  plansFile: string,
  direct: ReadonlySet<string> = new Set(),
): Promise<InstallPlan> {
  const who = spec.node.hostname ?? spec.node.mac ?? spec.node.ip ?? 'this node'
  const problems: string[] = []
  const one = async (kind: Kind, ref: string) => {
    const r = await resolveRef(lookup, kind, ref)
    if ('problem' in r) {
      problems.push(r.problem)
      return undefined
    }
    return artifact(kind, r.name, r.version, r.packed)
  }
  const image = await one('image', spec.image)
  const overrides: PlanArtifact[] = []
  const directs: DirectArtifact[] = []
  for (const o of spec.overrides) {
    const name = o.split('@')[0] as string
    if (direct.has(name)) {
      const r = await resolveRef(lookup, 'override', o)
      if ('problem' in r) problems.push(r.problem)
      else directs.push(directArtifact(r.name, r.version, r.packed))
      continue
    }
    const a = await one('override', o)
    if (a) overrides.push(a)
  }
  if (!image || problems.length > 0) {
    throw errors.planUnresolved(who, `${problems.join('; ')} (plan from ${spec.origin})`, plansFile)
  }
  const plan: InstallPlan = {
    apiVersion: PLAN_API_VERSION,
    node: spec.node,
    image,
    overrides,
    post: spec.post,
    disk: spec.disk,
  }
  // The ticket is minted by the API when it serves the plan (seeder/direct).
  return directs.length === 0 ? plan : { ...plan, direct: directs }
}
