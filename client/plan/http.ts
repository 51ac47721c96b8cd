// GET with bounded bodies and patient retries. At boot the server may still
// be starting, or the network may take a while to come up; a whole fleet
// retrying in lockstep would hammer it, hence exponential backoff with jitter.
import { setTimeout as sleep } from 'node:timers/promises'
import { CONTROL } from '../../common/cmdline.ts'
import { errors } from '../../common/errors.ts'
import type { RetryConfig } from '../config/index.ts'

export interface GetInit {
  /** Largest body accepted; a longer one is refused, never buffered. */
  limit: number
  /** Required Content-Type of a 2xx answer (tested on the media type). */
  contentType?: RegExp
  signal?: AbortSignal | undefined
  fetchImpl: typeof fetch
  retry: RetryConfig
  onStatus?: ((msg: string) => void) | undefined
  /** Per attempt: a server that accepts and then says nothing must not stall the boot. */
  attemptTimeoutMs?: number
}

export interface Answer {
  status: number
  body: Buffer
  /** The answer's headers (the plan's signature travels in one). */
  headers: Headers
}

const CONTROL_G = new RegExp(CONTROL.source, 'g')
const FIRST_DELAY_MS = 1000
/** Error bodies are only read for their message. */
const ERROR_BODY_LIMIT = 64 * 1024

/** Delay before retry number `n` (0-based): exponential from 1 s, capped, with "equal jitter" (half fixed, half random). */
export function backoffMs(n: number, maxDelayMs: number, random = Math.random): number {
  const base = Math.min(maxDelayMs, FIRST_DELAY_MS * 2 ** Math.min(n, 30))
  return Math.round(base / 2 + (random() * base) / 2)
}

function seconds(ms: number): string {
  return ms >= 10_000 ? `${Math.round(ms / 1000)} s` : `${(ms / 1000).toFixed(1).replace(/\.0$/, '')} s`
}

/** The errno-like code of a failed fetch (undici wraps it in `cause`, sometimes in an AggregateError). */
function networkReason(e: unknown): string {
  const c = (e as { cause?: { code?: unknown; errors?: Array<{ code?: unknown }>; message?: unknown } }).cause
  const code = c?.code ?? c?.errors?.[0]?.code
  if (typeof code === 'string') return code
  if (typeof c?.message === 'string' && c.message) return c.message
  return (e as Error).message ?? String(e)
}

class Retryable extends Error {
  /** The server's Retry-After, in ms, when it gave one. */
  readonly afterMs: number | undefined
  constructor(message: string, afterMs?: number) {
    super(message)
    this.afterMs = afterMs
  }
}

/** Retry-After in seconds (the only form our server sends), bounded to 10 minutes. */
function retryAfterMs(res: Response): number | undefined {
  const v = res.headers.get('retry-after')
  if (v === null || !/^\d{1,6}$/.test(v.trim())) return undefined
  return Math.min(Number(v.trim()), 600) * 1000
}

async function readCapped(res: Response, limit: number, url: string): Promise<Buffer> {
  const declared = Number(res.headers.get('content-length') ?? Number.NaN)
  if (declared > limit) {
    await res.body?.cancel()
    throw errors.badResponse(url, `answer of ${declared} bytes exceeds the limit of ${limit}`)
  }
  const chunks: Buffer[] = []
  let size = 0
  if (!res.body) return Buffer.alloc(0)
  const reader = res.body.getReader()
  for (;;) {
    let r: Awaited<ReturnType<typeof reader.read>>
    try {
      r = await reader.read()
    } catch (e) {
      throw new Retryable(`connection lost while reading (${networkReason(e)})`)
    }
    if (r.done) break
    size += r.value.length
    if (size > limit) {
      await reader.cancel().catch(() => {})
      throw errors.badResponse(url, `answer exceeds the limit of ${limit} bytes`)
    }
    chunks.push(Buffer.from(r.value))
  }
  return Buffer.concat(chunks)
}

async function attempt(url: string, init: GetInit, signal: AbortSignal): Promise<Answer> {
  let res: Response
  try {
    // manual: a redirect is answered as a 3xx error, never followed to another host.
    res = await init.fetchImpl(url, { signal, redirect: 'manual', headers: { accept: '*/*' } })
  } catch (e) {
    // A certificate the pinned CA did not sign (common/https.ts) is an answer, not an outage: never retried.
    if ((e as { code?: unknown }).code === errors.tlsUntrusted.code) throw e
    if (init.signal?.aborted) throw init.signal.reason
    if (signal.aborted) throw new Retryable('timed out')
    throw new Retryable(`unreachable (${networkReason(e)})`)
  }
  if (res.status === 429) {
    // Rate-limited (many nodes behind one address): wait as told, then ask again.
    await res.body?.cancel().catch(() => {})
    throw new Retryable('answered 429 (too many requests)', retryAfterMs(res))
  }
  if (res.status >= 500) {
    await res.body?.cancel().catch(() => {})
    throw new Retryable(`answered ${res.status}${res.status === 503 ? ' (not ready)' : ''}`)
  }
  const ok = res.status >= 200 && res.status < 300
  if (ok && init.contentType) {
    const type = (res.headers.get('content-type') ?? '').split(';')[0]?.trim().toLowerCase() ?? ''
    if (!init.contentType.test(type)) {
      await res.body?.cancel().catch(() => {})
      throw errors.badResponse(url, `unexpected content type ${JSON.stringify(type)}`)
    }
  }
  return {
    status: res.status,
    body: await readCapped(res, ok ? init.limit : ERROR_BODY_LIMIT, url),
    headers: res.headers,
  }
}

/**
 * GETs `url`. Connection errors, timeouts and 5xx answers are retried (until
 * retry.attempts or the signal); any other status is returned for the caller
 * to interpret. Each retry is announced through onStatus.
 */
export async function getWithRetry(url: string, what: string, init: GetInit): Promise<Answer> {
  const host = new URL(url).host
  for (let n = 0; ; n++) {
    init.signal?.throwIfAborted()
    const timeout = AbortSignal.timeout(init.attemptTimeoutMs ?? 60_000)
    const signal = init.signal ? AbortSignal.any([init.signal, timeout]) : timeout
    try {
      return await attempt(url, init, signal)
    } catch (e) {
      if (!(e instanceof Retryable)) throw e
      if (init.signal?.aborted) throw init.signal.reason
      const attempts = init.retry.attempts
      if (attempts !== undefined && n + 1 >= attempts) {
        throw errors.unreachable(host, `${what}: ${e.message}; gave up after ${attempts} attempts`)
      }
      const delay = Math.max(backoffMs(n, init.retry.maxDelayMs), e.afterMs ?? 0)
      init.onStatus?.(`server ${host} ${e.message}, retrying in ${seconds(delay)} (${what})`)
      await sleep(delay, undefined, init.signal ? { signal: init.signal } : undefined).catch((err: unknown) => {
        throw init.signal?.aborted ? init.signal.reason : err
      })
    }
  }
}

/** The `{ error: { message, hint } }` of an API error body, if it has one. */
export function apiError(body: Buffer): { code?: string; message?: string; hint?: string } {
  try {
    const e = (JSON.parse(body.toString('utf8')) as { error?: unknown }).error as Record<string, unknown> | undefined
    // The server's words go to the console: no control characters, bounded.
    const s = (v: unknown) => (typeof v === 'string' ? v.slice(0, 1000).replace(CONTROL_G, ' ') : undefined)
    return { code: s(e?.code), message: s(e?.message), hint: s(e?.hint) }
  } catch {
    return {}
  }
}
