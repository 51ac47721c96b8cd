// The webhook: one JSON POST per notification, signed with HMAC-SHA256 when
// a secret is configured, retried with exponential backoff on network
// errors, 429 and 5xx (another 4xx is the receiver's final word).
import { createHmac, randomUUID } from 'node:crypto'
import { errors } from '../../common/errors.ts'

export interface WebhookInit {
  url: string
  /** HMAC key; undefined: unsigned. */
  secret: string | undefined
  /** Retries after the first try (default 5). */
  retries?: number
  /** First backoff in ms (default 1000), doubled each retry, at most 60 s. */
  backoffMs?: number
  timeoutMs?: number
}

export interface WebhookComponents {
  /** Waits between tries (tests pass one that does not wait). */
  sleep?: (ms: number) => Promise<void>
  /** The clock for the timestamp header. */
  now?: () => Date
}

export const SIGNATURE_HEADER = 'x-imgswarm-signature'
export const TIMESTAMP_HEADER = 'x-imgswarm-timestamp'
export const DELIVERY_HEADER = 'x-imgswarm-delivery'

/** The signature a receiver recomputes: sha256=HEX(HMAC-SHA256(secret, TIMESTAMP + "." + BODY)). */
export function signature(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`
}

const realSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref())

/** Posts `payload`; resolves with the number of tries, or throws IMGSWARM_ERR_NOTIFY after the last one. */
export async function postWebhook(init: WebhookInit, payload: unknown, c: WebhookComponents = {}): Promise<number> {
  const body = JSON.stringify(payload)
  const delivery = randomUUID()
  const sleep = c.sleep ?? realSleep
  const retries = init.retries ?? 5
  let wait = init.backoffMs ?? 1000
  let last = ''
  for (let attempt = 0; attempt <= retries; attempt++) {
    if (attempt > 0) {
      await sleep(wait)
      wait = Math.min(wait * 2, 60_000)
    }
    const ts = String(Math.floor((c.now?.() ?? new Date()).getTime() / 1000))
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': 'imgswarm-notify/1',
      [DELIVERY_HEADER]: delivery,
      [TIMESTAMP_HEADER]: ts,
    }
    if (init.secret !== undefined) headers[SIGNATURE_HEADER] = signature(init.secret, ts, body)
    try {
      const res = await fetch(init.url, {
        method: 'POST',
        headers,
        body,
        redirect: 'error',
        signal: AbortSignal.timeout(init.timeoutMs ?? 10_000),
      })
      await res.arrayBuffer().catch(() => undefined)
      if (res.ok) return attempt + 1
      last = `HTTP ${res.status}`
      if (res.status !== 429 && res.status < 500) break
    } catch (e) {
      last = (e as { cause?: { code?: string } }).cause?.code ?? (e as Error).message
    }
  }
  throw errors.notify('webhook', `${init.url}: ${last}`)
}
