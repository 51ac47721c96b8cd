// The agent's requests: signed with the node key (common/node-auth.ts) for
// the agent API, plain for node reads (manifests, torrents). Answers are
// size-limited and JSON-checked; errors come back coded.
import type { KeyObject } from 'node:crypto'
import { errors, ImgswarmError } from '../../common/errors.ts'
import { pinnedFetch } from '../../common/https.ts'
import { authorization } from '../../common/node-auth.ts'
import type { AgentConfig } from './config.ts'

const LIMIT = 64 * 1024 * 1024

export interface Fetched {
  status: number
  body: Buffer
}

const fetchers = new Map<string, typeof fetch>()

/** fetch, or one that trusts only the pinned CA for an https:// server (docs/tls.md). */
export function fetchFor(ca: string | null | undefined): typeof fetch {
  if (!ca) return fetch
  let f = fetchers.get(ca)
  if (!f) {
    f = pinnedFetch(ca)
    fetchers.set(ca, f)
  }
  return f
}

async function send(
  url: string,
  init: RequestInit,
  limit: number,
  signal?: AbortSignal,
  fetchImpl: typeof fetch = fetch,
): Promise<Fetched> {
  let res: Response
  try {
    res = await fetchImpl(url, {
      ...init,
      redirect: 'error',
      signal: signal ? AbortSignal.any([signal, AbortSignal.timeout(60_000)]) : AbortSignal.timeout(60_000),
    })
  } catch (e) {
    const cause = (e as { cause?: { code?: string } }).cause?.code ?? (e as Error).message
    throw errors.unreachable(new URL(url).host, cause)
  }
  const len = Number(res.headers.get('content-length') ?? '0')
  if (len > limit) throw errors.badResponse(url, `answer of ${len} bytes is larger than ${limit}`)
  const body = Buffer.from(await res.arrayBuffer())
  if (body.length > limit) throw errors.badResponse(url, `answer larger than ${limit} bytes`)
  return { status: res.status, body }
}

function apiError(url: string, r: Fetched): ImgswarmError {
  try {
    const e = (JSON.parse(r.body.toString('utf8')) as { error?: { code?: string; message?: string; hint?: string } })
      .error
    if (e?.code?.startsWith('IMGSWARM_ERR_') && typeof e.message === 'string') {
      return new ImgswarmError(e.code, `${new URL(url).host}: ${e.message.slice(0, 500)}`, {
        ...(e.hint ? { hint: e.hint.slice(0, 500) } : {}),
      })
    }
  } catch {}
  return errors.badResponse(url, `answered ${r.status}`)
}

/** A signed call to the agent API; the answer's JSON, or a coded error. */
export async function signedCall<T>(
  cfg: AgentConfig,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
  signal?: AbortSignal,
): Promise<T> {
  const text = body === undefined ? undefined : JSON.stringify(body)
  const headers: Record<string, string> = { authorization: authorization(cfg.key, method, path, text) }
  if (text !== undefined) headers['content-type'] = 'application/json'
  const url = `${cfg.file.server}${path}`
  const r = await send(
    url,
    { method, headers, ...(text === undefined ? {} : { body: text }) },
    16 * 1024 * 1024,
    signal,
    fetchFor(cfg.file.ca),
  )
  if (r.status < 200 || r.status > 299) throw apiError(url, r)
  try {
    return JSON.parse(r.body.toString('utf8')) as T
  } catch {
    throw errors.badResponse(url, 'not JSON')
  }
}

/** An unsigned GET of a server-relative path (node reads), at most `limit` bytes. */
export async function getBytes(
  server: string,
  path: string,
  limit = LIMIT,
  signal?: AbortSignal,
  fetchImpl: typeof fetch = fetch,
): Promise<Buffer> {
  if (!path.startsWith('/api/v1/') || path.includes('..') || path.includes('%')) {
    throw errors.badResponse(path, 'not a server-relative /api/v1/ path')
  }
  const url = `${server}${path}`
  const r = await send(url, { method: 'GET' }, limit, signal, fetchImpl)
  if (r.status !== 200) throw apiError(url, r)
  return r.body
}

/** A POST signed with `key` (the install's enrol step: the key it registers). */
export async function signedPost(
  server: string,
  path: string,
  body: unknown,
  key: { key: KeyObject; keyId: string },
  fetchImpl: typeof fetch = fetch,
): Promise<{ status: number; json: unknown }> {
  const url = `${server}${path}`
  const text = JSON.stringify(body)
  const r = await send(
    url,
    {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: authorization(key, 'POST', path, text) },
      body: text,
    },
    1024 * 1024,
    undefined,
    fetchImpl,
  )
  if (r.status < 200 || r.status > 299) throw apiError(url, r)
  try {
    return { status: r.status, json: JSON.parse(r.body.toString('utf8')) }
  } catch {
    throw errors.badResponse(url, `answered ${r.status}, not JSON`)
  }
}
