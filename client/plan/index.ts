// The install client's first network step: fetch this node's install plan and
// everything it names, and verify it all against the pinned key. Nothing here
// touches a disk; the caller partitions nothing unless this succeeds.
import { randomBytes } from 'node:crypto'
import { errors } from '../../common/errors.ts'
import { type Manifest, verifyManifest } from '../../common/manifest.ts'
import { type DirectArtifact, type InstallPlan, type PlanArtifact, validatePlan } from '../../common/plan.ts'
import { PLAN_SIGNATURE_HEADER } from '../../common/plan-signature.ts'
import type { IndexTable } from '../../common/tarindex/index.ts'
import { parseTorrentInfo, type TorrentInfo } from '../../common/torrent.ts'
import type { ClientConfig } from '../config/index.ts'
import { apiError, type GetInit, getWithRetry } from './http.ts'
import { checkPlanSignature, clockWarning, type PlanSignatureCheck } from './signature.ts'
import { checkIndexAgainstManifest, checkManifestAgainstPlan, checkPin, checkTorrentAgainstManifest } from './verify.ts'

export { backoffMs } from './http.ts'

export interface FetchPlanInit {
  signal?: AbortSignal | undefined
  /** One line per step and per retry, for the console. */
  onStatus?: ((msg: string) => void) | undefined
  fetchImpl?: typeof fetch | undefined
  /**
   * A plan given locally (`imgswarm install --plan FILE`): its JSON text,
   * used instead of asking the server. It is validated the same way, and
   * everything it names is still fetched and verified with the pinned key.
   */
  planText?: string | undefined
  /** This node's clock in ms (default Date.now), for the plan's validity window. */
  now?: (() => number) | undefined
}

export interface VerifiedArtifact {
  /** The plan's entry, now known to agree with the manifest. */
  artifact: PlanArtifact
  manifest: Manifest
  torrent: Buffer
  torrentInfo: TorrentInfo
  /** Absolute URL of the archive (the BEP 19 web seed). */
  webseedUrl: string
  /**
   * The archive index (docs/archive-index.md), checked against the signed
   * manifest's hash and parsed as hostile input; null when the plan or the
   * manifest names none (compressed archives).
   */
  index: IndexTable | null
}

/** A direct (secret) override whose signed manifest was fetched with the ticket and verified. */
export interface VerifiedDirect {
  artifact: DirectArtifact
  manifest: Manifest
  /** Absolute URL of the archive; GET it with `Authorization: Bearer <ticket>`. */
  archiveUrl: string
  ticket: string
}

export interface VerifiedPlan {
  plan: InstallPlan
  /** The plan's verified signature (docs/plan-signing.md); undefined for a local --plan FILE. */
  signature?: PlanSignatureCheck | undefined
  image: VerifiedArtifact
  overrides: VerifiedArtifact[]
  /** Direct overrides, applied after `overrides` (docs/secrets.md). */
  direct: VerifiedDirect[]
}

export const PLAN_LIMIT = 1024 * 1024
const MANIFEST_LIMIT = 256 * 1024
const SIGNATURE_LIMIT = 4096
/** Beyond the 20 bytes per piece: bencoding, announce and url-list. */
const TORRENT_SLACK = 256 * 1024
const TORRENT_LIMIT = 64 * 1024 * 1024
/** Largest archive index fetched, whatever the manifest says (about 5 million entries). */
export const INDEX_LIMIT = 1024 * 1024 * 1024

const JSON_TYPE = /^application\/json$/

function planQuery(cfg: ClientConfig, nonce: string): string {
  const q = new URLSearchParams()
  if (cfg.mac !== undefined) q.set('mac', cfg.mac)
  if (cfg.hostname !== undefined) q.set('hostname', cfg.hostname)
  if (cfg.ip?.mode === 'static') q.set('ip', cfg.ip.address)
  q.set('nonce', nonce)
  const s = q.toString()
  return s === '' ? '' : `?${s}`
}

async function fetchPlan(
  cfg: ClientConfig,
  get: (url: string, what: string, o?: Partial<GetInit>) => ReturnType<typeof getWithRetry>,
  now: () => number,
): Promise<{ plan: InstallPlan; signature: PlanSignatureCheck }> {
  // A fresh nonce per request: the server signs it back, so a replayed plan cannot pass, whatever the clock says.
  const nonce = randomBytes(18).toString('base64url')
  const url = `${cfg.server}/api/v1/plan${planQuery(cfg, nonce)}`
  const host = new URL(cfg.server).host
  const res = await get(url, 'install plan', { limit: PLAN_LIMIT, contentType: JSON_TYPE })
  if (res.status === 200) {
    // The signature before the body is parsed: nothing in an unsigned plan is looked at.
    const sent = {
      mac: cfg.mac,
      hostname: cfg.hostname,
      ip: cfg.ip?.mode === 'static' ? cfg.ip.address : undefined,
      nonce,
    }
    const signature = checkPlanSignature(res.body, res.headers.get(PLAN_SIGNATURE_HEADER), sent, cfg.pubkey, now())
    let json: unknown
    try {
      json = JSON.parse(res.body.toString('utf8'))
    } catch {
      throw errors.planInvalid('plan', 'not valid JSON')
    }
    return { plan: validatePlan(json), signature }
  }
  const e = apiError(res.body)
  if (res.status === 404) throw errors.noPlan(host, e.message ?? 'the server answered 404', e.hint)
  // The plan has a direct (secret) override and the server has no TLS: the server's own words.
  if (res.status === 403 && e.code === 'IMGSWARM_ERR_DIRECT_INSECURE') {
    throw errors.directInsecure(`the install plan from ${host}`)
  }
  if (res.status === 409) {
    const who = cfg.hostname ?? cfg.mac ?? 'this node'
    // The server words it with the same error: keep its detail, not its prefix twice.
    const detail = (e.message ?? 'the server answered 409').replace(/^the install plan for .*? cannot be served: /, '')
    throw errors.planUnresolved(who, detail, `the plans file on ${host}`)
  }
  throw errors.badResponse(url, `answered ${res.status}${e.message ? `: ${e.message}` : ''}`)
}

function localPlan(text: string): InstallPlan {
  if (text.length > PLAN_LIMIT) throw errors.planInvalid('plan', `larger than ${PLAN_LIMIT} bytes`)
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (e) {
    throw errors.planInvalid('plan', `not valid JSON (${(e as Error).message})`)
  }
  return validatePlan(json)
}

/**
 * GETs the plan (retrying while the server is unreachable or not ready),
 * validates it, checks the imgswarm.image pin, then for the image and each
 * override verifies the manifest signature with the pinned key, checks the
 * manifest against the plan and the served torrent against the manifest.
 */
export async function fetchVerifiedPlan(cfg: ClientConfig, opts: FetchPlanInit = {}): Promise<VerifiedPlan> {
  const base: GetInit = {
    limit: PLAN_LIMIT,
    signal: opts.signal,
    fetchImpl: opts.fetchImpl ?? fetch,
    retry: cfg.retry,
    onStatus: opts.onStatus,
  }
  const get = (url: string, what: string, o: Partial<GetInit> = {}) => getWithRetry(url, what, { ...base, ...o })
  const status = (m: string) => opts.onStatus?.(m)

  // A local --plan FILE is trusted as root gave it (unsigned); what it names is still verified below.
  const fetched = opts.planText === undefined ? await fetchPlan(cfg, get, opts.now ?? Date.now) : undefined
  const plan = fetched ? fetched.plan : localPlan(opts.planText as string)
  if (fetched?.signature.clockOff) status(clockWarning(fetched.signature))
  status(
    `plan: image ${plan.image.name}@${plan.image.version}, ${plan.overrides.length} override(s), post ${plan.post}`,
  )
  checkPin(cfg.image, plan)

  const body = async (
    path: string,
    what: string,
    limit: number,
    contentType?: RegExp,
    extra: Partial<GetInit> = {},
  ) => {
    const url = `${cfg.server}${path}`
    const res = await get(url, what, { limit, ...(contentType ? { contentType } : {}), ...extra })
    if (res.status !== 200) {
      const e = apiError(res.body)
      throw errors.badResponse(url, `answered ${res.status}${e.message ? `: ${e.message}` : ''}`)
    }
    return { url, bytes: res.body }
  }

  const one = async (a: PlanArtifact, kind: 'image' | 'override'): Promise<VerifiedArtifact> => {
    const ref = `${kind} ${a.name}@${a.version}`
    const mf = await body(a.manifest, `manifest of ${ref}`, MANIFEST_LIMIT)
    const sig = await body(a.signature, `signature of ${ref}`, SIGNATURE_LIMIT)
    // The signature first: nothing in the manifest is looked at before it is verified.
    const manifest = verifyManifest(mf.bytes, sig.bytes, cfg.pubkey, mf.url)
    checkManifestAgainstPlan(manifest, a, kind, `${ref} (${mf.url})`)
    // The signed piece count bounds the torrent's size before it is read.
    const limit = Math.min(TORRENT_LIMIT, manifest.torrent.pieces * 20 + TORRENT_SLACK)
    const t = await body(a.torrent, `torrent of ${ref}`, limit)
    const torrentInfo = parseTorrentInfo(t.bytes, t.url)
    checkTorrentAgainstManifest(torrentInfo, manifest, t.url)
    let index: IndexTable | null = null
    if (a.index !== null) {
      const signed = manifest.index
      if (signed === undefined) {
        throw errors.planMismatch(
          `${ref} (${mf.url})`,
          'the plan points to an archive index, the signed manifest lists none',
        )
      }
      if (signed.size > INDEX_LIMIT) {
        throw errors.checksum(mf.url, `the archive index of ${signed.size} bytes exceeds the limit of ${INDEX_LIMIT}`)
      }
      // The signed size bounds the answer: a longer one is refused before it is buffered.
      const ix = await body(a.index, `archive index of ${ref}`, signed.size, JSON_TYPE)
      index = checkIndexAgainstManifest(ix.bytes, manifest, ix.url)
      status(`${ref}: archive index verified (${index.length} entries)`)
    }
    status(`${ref}: manifest signature, plan and torrent verified`)
    return { artifact: a, manifest, torrent: t.bytes, torrentInfo, webseedUrl: `${cfg.server}${a.webseed}`, index }
  }

  // Direct overrides: the manifest and its signature come from the ticket route, verified like the others.
  const directOne = async (d: DirectArtifact, ticket: string): Promise<VerifiedDirect> => {
    const ref = `direct override ${d.name}@${d.version}`
    const fetchImpl = withBearer(base.fetchImpl, ticket)
    const mf = await body(d.manifest, `manifest of ${ref}`, MANIFEST_LIMIT, undefined, { fetchImpl })
    const sig = await body(d.signature, `signature of ${ref}`, SIGNATURE_LIMIT, undefined, { fetchImpl })
    const manifest = verifyManifest(mf.bytes, sig.bytes, cfg.pubkey, mf.url)
    checkManifestAgainstPlan(manifest, d, 'override', `${ref} (${mf.url})`)
    status(`${ref}: manifest signature and plan verified; it comes from the server only, never the swarm`)
    return { artifact: d, manifest, archiveUrl: `${cfg.server}${d.archive}`, ticket }
  }

  const image = await one(plan.image, 'image')
  const overrides: VerifiedArtifact[] = []
  for (const o of plan.overrides) overrides.push(await one(o, 'override'))
  const direct: VerifiedDirect[] = []
  for (const d of plan.direct ?? []) direct.push(await directOne(d, plan.ticket as string))
  return { plan, signature: fetched?.signature, image, overrides, direct }
}

/** `fetchImpl` with `Authorization: Bearer <ticket>` on every request. */
export function withBearer(fetchImpl: typeof fetch, ticket: string): typeof fetch {
  return (input, init) => {
    const headers = new Headers(init?.headers)
    headers.set('authorization', `Bearer ${ticket}`)
    return fetchImpl(input, { ...init, headers })
  }
}
