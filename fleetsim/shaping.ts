// tc lines that shape one end of a link. Egress only: the host end shapes
// what the host sends (its upload), the bridge end what it receives (its
// download). Latency and loss (netem) sit on the host end only, so a packet
// between two hosts meets them once: one-way delay = latencyMs.
import { errors } from '../common/errors.ts'

/**
 * TCP payload per byte the token bucket counts: tbf counts whole Ethernet
 * frames (1514 bytes at MTU 1500) and a segment with timestamps carries
 * 1448 bytes of data. A link shaped to R carries at most R x 0.956 of TCP data.
 */
export const TCP_GOODPUT = 1448 / 1514

export interface Shape {
  bps: number
  latencyMs?: number
  lossPct?: number
}

/**
 * Token bucket: a burst of 5 ms at the rate (at least 32 KiB, so that a
 * 1500-byte packet and small GSO bursts pass whole), and a queue of 50 ms
 * (at least 128 KiB): deep enough that a few TCP flows keep the link busy,
 * shallow enough not to add much delay.
 */
export function tbfParams(bps: number): { burst: number; limit: number } {
  const bytesPerSec = bps / 8
  const burst = Math.max(32 * 1024, Math.ceil(bytesPerSec * 0.005))
  const limit = burst + Math.max(128 * 1024, Math.ceil(bytesPerSec * 0.05))
  return { burst, limit }
}

export function checkRate(what: string, bps: unknown): number {
  if (typeof bps !== 'number' || !Number.isFinite(bps) || bps < 8000 || bps > 100e9) {
    throw errors.usage(`fleet ${what} must be a rate in bits per second between 8000 and 1e11 (got ${String(bps)})`)
  }
  return Math.round(bps)
}

/** The `tc -batch` lines for the egress of `dev`. */
export function shapeLines(dev: string, s: Shape): string[] {
  const { burst, limit } = tbfParams(s.bps)
  const tbf = `tbf rate ${Math.round(s.bps)}bit burst ${burst} limit ${limit}`
  const delay = s.latencyMs ?? 0
  const loss = s.lossPct ?? 0
  if (delay <= 0 && loss <= 0) return [`qdisc replace dev ${dev} root handle 1: ${tbf}`]
  // netem first (it holds packets for the delay), the token bucket under it.
  // Its queue must hold everything in flight during the delay.
  const inFlight = Math.ceil(((s.bps / 8) * (delay / 1000)) / 1000)
  const netem = [
    `netem limit ${Math.max(1000, 2 * inFlight)}`,
    delay > 0 ? `delay ${delay}ms` : '',
    loss > 0 ? `loss ${loss}%` : '',
  ]
  return [
    `qdisc replace dev ${dev} root handle 1: ${netem.filter(Boolean).join(' ')}`,
    `qdisc replace dev ${dev} parent 1:1 handle 10: ${tbf}`,
  ]
}
