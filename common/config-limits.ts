// `[serve.rate_limit]` and `serve.tracker.networks` (docs/plan-signing.md#rate-limits,
// docs/tracker.md#network-allow-list), parsed strictly: unknown keys, out-of-range numbers
// and networks that are not CIDR are IMGSWARM_ERR_CONFIG, naming the key.
import { errors, isImgswarmError } from './errors.ts'
import { LOOPBACK, parseNetworks } from './networks.ts'

export interface RateRuleSetting {
  /** Requests per second, refilled continuously; 0: no limit. */
  rate: number
  /** Requests a source may send at once. */
  burst: number
}

export interface RateLimitSetting {
  plan: RateRuleSetting
  events: RateRuleSetting
  /** Sources never limited (CIDR). */
  exempt: string[]
}

/** 2,000 nodes behind one NAT, an event every 5 s each, is 400/s: the defaults leave room above that. */
export const DEFAULT_RATE_LIMIT: RateLimitSetting = {
  plan: { rate: 200, burst: 2000 },
  events: { rate: 1000, burst: 4000 },
  exempt: [...LOOPBACK],
}

const KEYS = ['plan_rate', 'plan_burst', 'events_rate', 'events_burst', 'exempt']

function num(file: string, v: unknown, key: string, min: number, max: number, fallback: number, int: boolean): number {
  if (v === undefined) return fallback
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max || (int && !Number.isInteger(v))) {
    throw errors.config(file, `${key} must be ${int ? 'an integer' : 'a number'} from ${min} to ${max}`)
  }
  return v
}

/** A list of networks under `key`, checked with common/networks.ts; the config error names the key. */
export function networksSetting(file: string, v: unknown, key: string): string[] | undefined {
  if (v === undefined) return undefined
  const list = typeof v === 'string' ? [v] : v
  if (!Array.isArray(list) || list.length > 1024) {
    throw errors.config(file, `${key} must be a list of networks in CIDR notation (at most 1024), like ["10.0.0.0/8"]`)
  }
  try {
    return [...parseNetworks(list, key).networks]
  } catch (e) {
    if (isImgswarmError(e)) throw errors.config(file, e.message)
    throw e
  }
}

export function rateLimitSetting(file: string, v: unknown): RateLimitSetting {
  if (v === undefined) return DEFAULT_RATE_LIMIT
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw errors.config(file, 'serve.rate_limit must be a table (docs/plan-signing.md#rate-limits)')
  }
  const t = v as Record<string, unknown>
  for (const k of Object.keys(t)) {
    if (!KEYS.includes(k)) throw errors.config(file, `serve.rate_limit.${k}: unknown key (known: ${KEYS.join(', ')})`)
  }
  const rule = (what: 'plan' | 'events'): RateRuleSetting => {
    const d = DEFAULT_RATE_LIMIT[what]
    const k = `serve.rate_limit.${what}`
    return {
      rate: num(file, t[`${what}_rate`], `${k}_rate`, 0, 1_000_000, d.rate, false),
      burst: num(file, t[`${what}_burst`], `${k}_burst`, 1, 10_000_000, d.burst, true),
    }
  }
  return {
    plan: rule('plan'),
    events: rule('events'),
    exempt: networksSetting(file, t.exempt, 'serve.rate_limit.exempt') ?? DEFAULT_RATE_LIMIT.exempt,
  }
}
