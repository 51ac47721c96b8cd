// Per-source token buckets for the node-facing write and plan routes
// (docs/plan-signing.md#rate-limits). In memory, one bucket per source
// address (an IPv6 source by its /64, which one host can fill), in a map of
// bounded size: the least recently seen source is forgotten first, so
// thousands of sources cannot grow memory without bound, and a source that
// keeps sending stays at the recent end and keeps its empty bucket.
import { isIPv6 } from 'node:net'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { DEFAULT_RATE_LIMIT } from '../../common/config-limits.ts'
import { signErrors } from '../../common/errors-sign.ts'
import { LOOPBACK, type NetworkList, parseNetworks, plainAddress } from '../../common/networks.ts'

export interface RateRule {
  /** Requests per second, refilled continuously; 0 turns the limit off. */
  rate: number
  /** Requests a source may send at once from a full bucket. */
  burst: number
}

export interface RateLimitInit {
  plan?: RateRule
  events?: RateRule
  /** Sources never limited, CIDR; default loopback (the server's own host). */
  exempt?: readonly string[]
  /** Sources remembered at most; default 50,000 (a few MB). */
  maxSources?: number
  /** The clock, in ms (tests pass their own). */
  now?: () => number
}

/** serve.rate_limit's defaults (common/config-limits.ts says why these). */
export const DEFAULT_RATE_LIMITS = {
  plan: DEFAULT_RATE_LIMIT.plan,
  events: DEFAULT_RATE_LIMIT.events,
} as const satisfies Record<string, RateRule>
export const DEFAULT_MAX_SOURCES = 50_000

interface Bucket {
  tokens: number
  at: number
}

/** Token buckets keyed by source; take() says how long to wait when the bucket is empty. */
export class TokenBuckets {
  readonly #rule: RateRule
  readonly #max: number
  readonly #buckets = new Map<string, Bucket>()

  constructor(rule: RateRule, maxSources = DEFAULT_MAX_SOURCES) {
    this.#rule = rule
    this.#max = Math.max(1, maxSources)
  }

  get size(): number {
    return this.#buckets.size
  }

  /** 0 when a token was taken; otherwise the milliseconds until one is there. */
  take(key: string, now: number): number {
    const { rate, burst } = this.#rule
    const old = this.#buckets.get(key)
    let b: Bucket
    if (old) {
      this.#buckets.delete(key)
      b = { tokens: Math.min(burst, old.tokens + (Math.max(0, now - old.at) * rate) / 1000), at: now }
    } else {
      b = { tokens: burst, at: now }
      if (this.#buckets.size >= this.#max) {
        const oldest = this.#buckets.keys().next().value
        if (oldest !== undefined) this.#buckets.delete(oldest)
      }
    }
    this.#buckets.set(key, b)
    if (b.tokens >= 1) {
      b.tokens -= 1
      return 0
    }
    return Math.ceil(((1 - b.tokens) * 1000) / rate)
  }
}

/** The bucket key of a source: the address, an IPv6 one cut to its /64. */
export function sourceKey(ip: string): string {
  const a = plainAddress(ip) ?? ip
  if (!isIPv6(a)) return a
  // Expand "::" so the first four groups are the /64.
  const [head = '', tail = ''] = a.split('::')
  const h = head === '' ? [] : head.split(':')
  const t = a.includes('::') ? (tail === '' ? [] : tail.split(':')) : []
  const groups = a.includes('::') ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t] : h
  return `${groups.slice(0, 4).join(':')}::/64`
}

export type RateHook = (req: FastifyRequest, reply: FastifyReply) => Promise<void>

/** Fastify onRequest hooks for the plan and events routes; undefined where the limit is off. */
export function rateLimitHooks(init: RateLimitInit = {}): { plan?: RateHook; events?: RateHook } {
  const now = init.now ?? Date.now
  const exempt: NetworkList = parseNetworks(init.exempt ?? LOOPBACK, 'serve.rate_limit.exempt')
  const hook = (what: string, rule: RateRule): RateHook | undefined => {
    if (rule.rate <= 0) return undefined
    const buckets = new TokenBuckets(rule, init.maxSources)
    return async (req, reply) => {
      if (exempt.contains(req.ip)) return
      const wait = buckets.take(sourceKey(req.ip), now())
      if (wait === 0) return
      const sec = Math.max(1, Math.ceil(wait / 1000))
      reply.header('retry-after', String(sec))
      throw signErrors.tooManyRequests(what, sec)
    }
  }
  const out: { plan?: RateHook; events?: RateHook } = {}
  const plan = hook('install plan', init.plan ?? DEFAULT_RATE_LIMITS.plan)
  const events = hook('event', init.events ?? DEFAULT_RATE_LIMITS.events)
  if (plan) out.plan = plan
  if (events) out.events = events
  return out
}
