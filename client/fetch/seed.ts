// The seeding phase after a fetch. "While needed": stay while a connected
// peer misses pieces, and after that while the tracker still counts
// leechers in the swarm (a scrape), until no one has needed us for quietMs;
// never longer than maxMs. "For": exactly that long. "None": not at all.
import { setTimeout as sleep } from 'node:timers/promises'
import { bdecode } from '../../common/bencode.ts'
import type { SwarmSession } from '../swarm/engine/index.ts'

export type SeedPolicy =
  | { mode: 'none' }
  | { mode: 'for'; ms: number }
  | { mode: 'while-needed'; quietMs: number; maxMs: number }

export interface SeedResult {
  ms: number
  reason: 'not seeding' | 'time given' | 'no leechers' | 'maximum time' | 'tracker unreachable'
}

/** BEP 48 convention: the scrape URL is the announce URL with its last /announce replaced. */
export function scrapeUrl(announce: string, infoHash: string): string | undefined {
  const m = /\/announce(?=[^/]*$)/.exec(announce)
  if (!m || !/^https?:/.test(announce)) return undefined
  const url = `${announce.slice(0, m.index)}/scrape${announce.slice(m.index + '/announce'.length)}`
  let q = ''
  for (const b of Buffer.from(infoHash, 'hex')) q += `%${b.toString(16).padStart(2, '0')}`
  return `${url}${url.includes('?') ? '&' : '?'}info_hash=${q}`
}

/** Peers the tracker counts as still downloading; undefined when it cannot be asked. */
export async function leechers(url: string, signal?: AbortSignal, fetchImpl: typeof fetch = fetch) {
  try {
    const t = AbortSignal.timeout(5000)
    const res = await fetchImpl(url, { signal: signal ? AbortSignal.any([signal, t]) : t, redirect: 'manual' })
    if (!res.ok) return undefined
    const buf = Buffer.from(await res.arrayBuffer())
    if (buf.length > 64 * 1024) return undefined
    const top = bdecode(buf).value
    const files = top instanceof Map ? top.get('files') : undefined
    if (!(files instanceof Map)) return undefined
    for (const v of files.values()) {
      const n = v instanceof Map ? v.get('incomplete') : undefined
      if (typeof n === 'number') return n
    }
    return 0
  } catch {
    return undefined
  }
}

export async function seedPhase(
  session: SwarmSession,
  policy: SeedPolicy,
  o: { scrape: string | undefined; signal?: AbortSignal | undefined; say: (m: string) => void },
): Promise<SeedResult> {
  const start = Date.now()
  const done = (reason: SeedResult['reason']): SeedResult => ({ ms: Date.now() - start, reason })
  if (policy.mode === 'none') return done('not seeding')
  const sig = o.signal === undefined ? {} : { signal: o.signal }
  if (policy.mode === 'for') {
    await sleep(policy.ms, undefined, sig)
    return done('time given')
  }
  const deadline = start + policy.maxMs
  for (;;) {
    const left = deadline - Date.now()
    if (left <= 0) return done('maximum time')
    await session.seedWhileNeeded({ maxMs: left, quietMs: policy.quietMs, ...sig })
    if (Date.now() >= deadline) return done('maximum time')
    if (o.scrape === undefined) return done('no leechers')
    const n = await leechers(o.scrape, o.signal)
    if (n === undefined) return done('tracker unreachable')
    if (n === 0) return done('no leechers')
    o.say(`the tracker counts ${n} peer(s) still downloading: seeding on`)
  }
}
