// The UDP (BEP 15) front door. We own the socket so that the handshake means
// something: CONNECT is answered here with an id bound to the source address,
// ANNOUNCE and SCRAPE must carry that id, and only then does the packet reach
// the library (with the id swapped for the constant the library expects).
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram'
import { isIPv6 } from 'node:net'
import type { Server } from 'bittorrent-tracker'
import type { Logger } from '../common/log.ts'
import type { ConnectionIds } from './connection-id.ts'
import {
  INFO_HASH_LENGTH,
  UDP_ACTION,
  UDP_ANNOUNCE_IP_OFFSET,
  UDP_ANNOUNCE_MIN_LENGTH,
  UDP_CONNECT_RESPONSE_LENGTH,
  UDP_HEADER_LENGTH,
  UDP_PROTOCOL_ID,
  UDP_SCRAPE_MAX_HASHES,
} from './constants.ts'
import type { Counters } from './metrics.ts'
import { NETWORK_REFUSAL, NETWORK_REFUSAL_SHORT } from './policy.ts'

export interface UdpFrontendInit {
  library: Server
  ids: ConnectionIds
  counters: Counters
  log: Logger
  /** True (and counted) when a verified source is outside the allowed networks. */
  refused(address: string, what: string): boolean
}

/** BEP 15 events: none, completed, started, stopped (the library adds 4, paused). */
const MAX_EVENT = 4
const EVENT_OFFSET = 80

export class UdpFrontend {
  #init: UdpFrontendInit
  #socket: Socket | undefined

  constructor(init: UdpFrontendInit) {
    this.#init = init
  }

  async listen(host: string | undefined, port: number): Promise<number> {
    const socket = createSocket(host !== undefined && isIPv6(host) ? 'udp6' : 'udp4')
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject)
      socket.bind(port, host, () => {
        socket.off('error', reject)
        resolve()
      })
    })
    socket.on('error', (err) => this.#init.log.warn({ err }, 'udp socket error'))
    socket.on('message', (msg, rinfo) => this.#onMessage(msg, rinfo))
    this.#socket = socket
    // The library replies through these; it never binds them (udp: false).
    this.#init.library.udp4 = socket
    this.#init.library.udp6 = socket
    return socket.address().port
  }

  async close(): Promise<void> {
    const s = this.#socket
    this.#socket = undefined
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()))
  }

  #onMessage(msg: Buffer, rinfo: RemoteInfo): void {
    try {
      this.#handle(msg, rinfo)
    } catch (err) {
      // Nothing a packet holds may stop the tracker.
      this.#drop('internal error')
      this.#init.log.warn({ err, from: `${rinfo.address}:${rinfo.port}` }, 'udp packet handling failed')
    }
  }

  #handle(msg: Buffer, rinfo: RemoteInfo): void {
    if (msg.length < UDP_HEADER_LENGTH) {
      this.#drop('short packet')
      return
    }
    const action = msg.readUInt32BE(8)
    if (action === UDP_ACTION.CONNECT) {
      this.#connect(msg, rinfo)
      return
    }
    const problem = this.#check(msg, rinfo, action)
    if (problem === 'unknown action') this.#drop(problem)
    else if (problem !== undefined) this.#error(msg, rinfo, problem)
    else if (this.#init.refused(rinfo.address, action === UDP_ACTION.ANNOUNCE ? 'announce' : 'scrape')) {
      // After the connection id, so the source is real. A one-hash scrape (36 bytes) gets the short text.
      this.#reply(msg, rinfo, 8 + NETWORK_REFUSAL.length <= msg.length ? NETWORK_REFUSAL : NETWORK_REFUSAL_SHORT)
    } else {
      msg.writeBigUInt64BE(UDP_PROTOCOL_ID, 0)
      if (action === UDP_ACTION.ANNOUNCE) {
        // BEP 15 lets a client name another IP; we list the address the packet
        // came from, so nobody can point a swarm's traffic at a third party.
        msg.writeUInt32BE(0, UDP_ANNOUNCE_IP_OFFSET)
      }
      this.#init.library.onUdpRequest(msg, rinfo)
    }
  }

  #connect(msg: Buffer, rinfo: RemoteInfo): void {
    if (msg.readBigUInt64BE(0) !== UDP_PROTOCOL_ID) {
      this.#drop('bad protocol id')
      return
    }
    const reply = Buffer.alloc(UDP_CONNECT_RESPONSE_LENGTH)
    reply.writeUInt32BE(UDP_ACTION.CONNECT, 0)
    reply.writeUInt32BE(msg.readUInt32BE(12), 4)
    this.#init.ids.mint(rinfo.address, rinfo.port).copy(reply, 8)
    this.#send(reply, rinfo)
  }

  /** Why an ANNOUNCE or SCRAPE cannot go to the library, if it cannot. */
  #check(msg: Buffer, rinfo: RemoteInfo, action: number): string | undefined {
    if (action === UDP_ACTION.ANNOUNCE) {
      if (msg.length < UDP_ANNOUNCE_MIN_LENGTH) return 'short announce'
      if (msg.readUInt32BE(EVENT_OFFSET) > MAX_EVENT) return 'invalid event'
    } else if (action === UDP_ACTION.SCRAPE) {
      const hashes = (msg.length - UDP_HEADER_LENGTH) / INFO_HASH_LENGTH
      if (!Number.isInteger(hashes) || hashes < 1 || hashes > UDP_SCRAPE_MAX_HASHES) return 'bad scrape length'
    } else {
      return 'unknown action'
    }
    if (!this.#init.ids.verify(msg.subarray(0, 8), rinfo.address, rinfo.port)) return 'connection id invalid'
    return undefined
  }

  /** A dropped request that gets a BEP 15 error reply. */
  #error(msg: Buffer, rinfo: RemoteInfo, reason: string): void {
    this.#drop(reason)
    this.#reply(msg, rinfo, reason)
  }

  /**
   * A BEP 15 error reply, sent only when it is no larger than the request: a
   * spoofed source must not turn the tracker into an amplifier.
   */
  #reply(msg: Buffer, rinfo: RemoteInfo, reason: string): void {
    const text = Buffer.from(reason)
    const reply = Buffer.alloc(8 + text.length)
    if (reply.length > msg.length) return
    reply.writeUInt32BE(UDP_ACTION.ERROR, 0)
    reply.writeUInt32BE(msg.readUInt32BE(12), 4)
    text.copy(reply, 8)
    this.#send(reply, rinfo)
  }

  #drop(reason: string): void {
    this.#init.counters.drop(reason)
  }

  #send(buf: Buffer, rinfo: RemoteInfo): void {
    this.#socket?.send(buf, rinfo.port, rinfo.address, (err) => {
      if (err) this.#init.log.debug({ err, to: `${rinfo.address}:${rinfo.port}` }, 'udp send failed')
    })
  }
}
