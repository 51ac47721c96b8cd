// The lower bounds the measured times are compared with, and the small
// statistics the table needs.

export interface Rates {
  /** Image (archive) size in bytes. */
  bytes: number
  nodes: number
  /** Link rates in bits per second. */
  serverUpBps: number
  nodeUpBps: number
  nodeDownBps: number
}

/**
 * Kumar & Ross (2006), "Peer-assisted file distribution: the minimum
 * distribution time": with server upload u_s, peer uploads u_i and the slowest
 * peer download d_min, no scheme can deliver a file of F bits to N peers
 * faster than max(F/u_s, F/d_min, N·F/(u_s + Σu_i)); fluid model, so it is
 * reachable only in the limit of small pieces.
 */
export function peerBound(r: Rates): number {
  const f = r.bytes * 8
  return Math.max(f / r.serverUpBps, f / r.nodeDownBps, (r.nodes * f) / (r.serverUpBps + r.nodes * r.nodeUpBps))
}

/** Client-server distribution: the server sends N whole copies, max(N·F/u_s, F/d_min). */
export function unicastBound(r: Rates): number {
  const f = r.bytes * 8
  return Math.max((r.nodes * f) / r.serverUpBps, f / r.nodeDownBps)
}

/** Nearest-rank percentile (p in 0..100) of a non-empty list. */
export function percentile(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b)
  if (s.length === 0) return Number.NaN
  const rank = Math.ceil((p / 100) * s.length)
  return s[Math.min(s.length, Math.max(1, rank)) - 1] as number
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b)
  if (s.length === 0) return Number.NaN
  const m = s.length >> 1
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2
}
