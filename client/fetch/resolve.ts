// Where to fetch NAME[@VER], and everything needed to trust it: the server's
// pointer (GET /api/v1/fetch/...), then the manifest and its signature
// (verified with the pinned key before anything in them is read), the
// torrent and the archive index, each checked against the signed manifest.
import type { KeyObject } from 'node:crypto'
import { errors } from '../../common/errors.ts'
import { verifyManifest } from '../../common/manifest.ts'
import { formatRef, parseRef } from '../../common/names.ts'
import type { PlanArtifact } from '../../common/plan.ts'
import type { IndexTable } from '../../common/tarindex/index.ts'
import { parseTorrentInfo } from '../../common/torrent.ts'
import type { RetryConfig } from '../config/index.ts'
import { apiError, type GetInit, getWithRetry } from '../plan/http.ts'
import type { VerifiedArtifact } from '../plan/index.ts'
import { checkIndexAgainstManifest, checkTorrentAgainstManifest } from '../plan/verify.ts'

const POINTER_LIMIT = 64 * 1024
const MANIFEST_LIMIT = 256 * 1024
const SIGNATURE_LIMIT = 4096
const TORRENT_SLACK = 256 * 1024
const TORRENT_LIMIT = 64 * 1024 * 1024
const INDEX_LIMIT = 1024 * 1024 * 1024
const JSON_TYPE = /^application\/json$/
const HEX40 = /^[0-9a-f]{40}$/
const HEX64 = /^[0-9a-f]{64}$/
/** Server-relative URL paths only: a pointer never sends the client to another host. */
const REL = /^\/[A-Za-z0-9._~!$&'()*+,;=:@%/-]{0,500}$/

export interface ResolveInit {
  server: string
  pubkey: KeyObject
  /** The admin token, for content published without --public. */
  token?: string | undefined
  retry: RetryConfig
  signal?: AbortSignal | undefined
  fetchImpl?: typeof fetch | undefined
  onStatus?: ((msg: string) => void) | undefined
}

export interface ResolvedContent {
  verified: VerifiedArtifact
  /** Published --public (the pointer says so; it only decides whether to use the web seed). */
  public: boolean
}

function withToken(f: typeof fetch, token: string | undefined): typeof fetch {
  if (token === undefined) return f
  return (input, init) => f(input, { ...init, headers: { ...(init?.headers ?? {}), authorization: `Bearer ${token}` } })
}

/** The pointer is server input: every field is checked before use. */
function checkPointer(v: unknown, want: { name: string; version?: string | undefined }, where: string) {
  const bad = (d: string) => errors.fetchMismatch(where, d)
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad('the answer is not a JSON object')
  const p = v as Record<string, unknown>
  if (p.name !== want.name) throw bad(`it names ${JSON.stringify(p.name)}, ${JSON.stringify(want.name)} was asked for`)
  if (typeof p.version !== 'string') throw bad('it has no version')
  parseRef(`${want.name}@${p.version}`, 'content')
  if (want.version !== undefined && p.version !== want.version) throw bad(`it names version ${p.version}`)
  for (const k of ['torrent', 'manifest', 'signature', 'webseed'] as const) {
    if (typeof p[k] !== 'string' || !REL.test(p[k] as string) || (p[k] as string).includes('..')) {
      throw bad(`${k} is not a path on this server`)
    }
  }
  if (p.index !== null && (typeof p.index !== 'string' || !REL.test(p.index) || p.index.includes('..'))) {
    throw bad('index is not a path on this server')
  }
  if (typeof p.infoHash !== 'string' || !HEX40.test(p.infoHash)) throw bad('infoHash is not 40 hex digits')
  if (typeof p.sha256 !== 'string' || !HEX64.test(p.sha256)) throw bad('sha256 is not 64 hex digits')
  if (!Number.isSafeInteger(p.size) || (p.size as number) < 0) throw bad('size is not a byte count')
  if (p.compression !== 'none' && p.compression !== 'zstd') throw bad('compression is not none or zstd')
  return { artifact: p as unknown as PlanArtifact, public: p.public === true }
}

export async function resolveContent(ref: string, init: ResolveInit): Promise<ResolvedContent> {
  const want = parseRef(ref, 'content')
  const base: GetInit = {
    limit: POINTER_LIMIT,
    signal: init.signal,
    fetchImpl: withToken(init.fetchImpl ?? fetch, init.token),
    retry: init.retry,
    onStatus: init.onStatus,
  }
  const body = async (path: string, what: string, limit: number, contentType?: RegExp) => {
    const url = `${init.server}${path}`
    const res = await getWithRetry(url, what, { ...base, limit, ...(contentType ? { contentType } : {}) })
    if (res.status !== 200) {
      const e = apiError(res.body)
      const detail = `${url} answered ${res.status}${e.message ? `: ${e.message}` : ''}`
      if (res.status === 404 || res.status === 401) throw errors.fetchNotPublished(ref, init.server, detail)
      throw errors.badResponse(url, `answered ${res.status}${e.message ? `: ${e.message}` : ''}`)
    }
    return { url, bytes: res.body }
  }
  const path = `/api/v1/fetch/${encodeURIComponent(want.name)}${want.version === undefined ? '' : `/${encodeURIComponent(want.version)}`}`
  const ptr = await body(path, `content ${ref}`, POINTER_LIMIT, JSON_TYPE)
  let json: unknown
  try {
    json = JSON.parse(ptr.bytes.toString('utf8'))
  } catch {
    throw errors.fetchMismatch(ptr.url, 'not valid JSON')
  }
  const { artifact: a, public: isPublic } = checkPointer(json, want, ptr.url)
  const what = `content ${formatRef(a.name, a.version)}`

  const mf = await body(a.manifest, `manifest of ${what}`, MANIFEST_LIMIT)
  const sig = await body(a.signature, `signature of ${what}`, SIGNATURE_LIMIT)
  // The signature first: nothing in the manifest is read before it is verified.
  const manifest = verifyManifest(mf.bytes, sig.bytes, init.pubkey, mf.url)
  const pairs: Array<[string, unknown, unknown]> = [
    ['kind', manifest.kind, 'content'],
    ['name', manifest.name, a.name],
    ['version', manifest.version, a.version],
    ['torrent.infoHash', manifest.torrent.infoHash, a.infoHash],
    ['archive.size', manifest.archive.size, a.size],
    ['archive.sha256', manifest.archive.sha256, a.sha256],
    ['archive.compression', manifest.archive.compression, a.compression],
  ]
  for (const [field, signed, said] of pairs) {
    if (signed !== said) {
      throw errors.fetchMismatch(
        mf.url,
        `the signed manifest says ${field} ${JSON.stringify(signed)}, the server's pointer ${JSON.stringify(said)}`,
      )
    }
  }
  const limit = Math.min(TORRENT_LIMIT, manifest.torrent.pieces * 20 + TORRENT_SLACK)
  const t = await body(a.torrent, `torrent of ${what}`, limit)
  const torrentInfo = parseTorrentInfo(t.bytes, t.url)
  checkTorrentAgainstManifest(torrentInfo, manifest, t.url)
  let index: IndexTable | null = null
  if (manifest.index !== undefined && a.index !== null) {
    if (manifest.index.size > INDEX_LIMIT) {
      throw errors.checksum(mf.url, `the archive index of ${manifest.index.size} bytes exceeds ${INDEX_LIMIT}`)
    }
    const ix = await body(a.index, `archive index of ${what}`, manifest.index.size, JSON_TYPE)
    index = checkIndexAgainstManifest(ix.bytes, manifest, ix.url)
  }
  init.onStatus?.(
    `${what}: manifest signature and torrent verified${index ? `, index of ${index.length} entries` : ''}`,
  )
  return {
    verified: { artifact: a, manifest, torrent: t.bytes, torrentInfo, webseedUrl: `${init.server}${a.webseed}`, index },
    public: isPublic,
  }
}
