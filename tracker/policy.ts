// The checks every announce passes before the library touches its swarms:
// input the library's parser lets through, the network allow-list, the
// info-hash allow-list, and the numwant cap.
import type { AnnounceParams } from 'bittorrent-tracker'
import type { NetworkList } from '../common/networks.ts'
import type { AllowList } from './allow-list.ts'
import { DEFAULT_NUMWANT, UDP_MAX_PEERS } from './constants.ts'

const HEX40 = /^[0-9a-f]{40}$/

export interface PolicyInit {
  allow: AllowList | undefined
  /** Peers answered only from these networks; undefined: from anywhere. */
  networks: NetworkList | undefined
  maxNumwant: number
  refusal: string
  onAccepted(infoHash: string): void
  onRefused(infoHash: string): void
  onRefusedNetwork(ip: string): void
}

/**
 * The failure reason for a peer outside the networks. Short: a UDP error reply
 * (8 + this) stays smaller than the 98-byte announce that caused it.
 */
export const NETWORK_REFUSAL = 'address not allowed: this tracker answers only peers on its configured networks'
/** For UDP requests shorter than 8 + NETWORK_REFUSAL bytes (a scrape of one to three hashes). */
export const NETWORK_REFUSAL_SHORT = 'address not allowed'

const NUMWANT = /[?&]numwant=([^&]*)/

/** numwant as the client asked (HTTP query), before the library's own cap of 82. */
function requestedNumwant(url: string | undefined): number {
  // A regex, not URLSearchParams: that decodes every binary field again and cost 12% of an announce.
  let raw = url === undefined ? undefined : NUMWANT.exec(url)?.[1]
  if (raw?.includes('%')) raw = unescape(raw) // the library's own decoding of the query
  if (raw === undefined || raw.trim() === '') return DEFAULT_NUMWANT
  const n = Number(raw)
  if (Number.isNaN(n) || n < 0) return DEFAULT_NUMWANT // BEP 15 uses -1 for "default"
  return Math.floor(n) // Infinity stays Infinity and is capped below
}

/** The reason to refuse an announce the library's parser let through, if any; sets the capped numwant. */
function check(infoHash: string, params: AnnounceParams, maxNumwant: number): string | undefined {
  // The library turns each character of a 20-character string into hex; %uXXXX escapes make longer "hex".
  if (!HEX40.test(infoHash)) return 'invalid info_hash: expected 20 bytes'
  if (params.type === 'http') {
    // The library accepts 1.5 as a port and would fail later, outside any error handler.
    if (!Number.isInteger(params.port)) return 'invalid port: expected an integer 1-65535'
    if (!HEX40.test(params.peer_id)) return 'invalid peer_id: expected 20 bytes'
    params.numwant = Math.min(requestedNumwant(params.httpReq?.url), maxNumwant)
  } else if (params.type === 'udp') {
    params.numwant = Math.min(params.numwant, maxNumwant, UDP_MAX_PEERS)
  } else {
    params.numwant = Math.min(Number(params.numwant) || 0, maxNumwant)
  }
  return undefined
}

export function announceFilter(p: PolicyInit) {
  return (infoHash: string, params: AnnounceParams, cb: (err?: Error | null) => void): void => {
    const problem = check(infoHash, params, p.maxNumwant)
    if (problem !== undefined) {
      cb(new Error(problem))
    } else if (p.networks && !p.networks.contains(String(params.ip ?? ''))) {
      // Before the info-hash list: a peer from elsewhere learns nothing about which hashes are served.
      p.onRefusedNetwork(String(params.ip ?? ''))
      cb(new Error(NETWORK_REFUSAL))
    } else if (p.allow && !p.allow.has(infoHash)) {
      p.onRefused(infoHash)
      cb(new Error(p.refusal))
    } else {
      p.onAccepted(infoHash)
      cb(null)
    }
  }
}
