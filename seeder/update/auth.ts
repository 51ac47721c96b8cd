// Checking an agent's signed request (common/node-auth.ts): the key must be
// registered and not revoked, the timestamp within SKEW_MS of our clock and
// not before this server started, the signature good over the exact method,
// path, query, nonce and body bytes, and the (key, nonce) pair never seen
// before: a replay inside the window is refused, and one from before a
// restart is older than the start. The enrol request is checked the same way
// against the key it registers (proof of possession).
import { verify } from 'node:crypto'
import type { FastifyRequest } from 'fastify'
import { errors } from '../../common/errors.ts'
import {
  nodeKeyId,
  type ParsedAuth,
  parseAuthorization,
  publicKeyFromRaw,
  SKEW_MS,
  signedBytes,
} from '../../common/node-auth.ts'
import type { Fleet, NodeCredential } from '../fleet/index.ts'

declare module 'fastify' {
  interface FastifyRequest {
    /** The exact body bytes (routes under the agent API keep them for the signature). */
    rawBody?: Buffer
    /** The node an agent request was signed by. */
    nodeCredential?: NodeCredential
  }
}

const MAX_SEEN = 200_000

export class NodeAuth {
  readonly #fleet: Fleet
  readonly #seen = new Map<string, number>()
  readonly #now: () => number
  readonly #started: number

  constructor(fleet: Fleet, now: () => number = Date.now) {
    this.#fleet = fleet
    this.#now = now
    this.#started = now()
  }

  /** Checks header, clock, signature with `publicKey` (raw base64) and replay; returns the parsed header. */
  check(req: FastifyRequest, publicKey: (a: ParsedAuth) => string): ParsedAuth {
    const a = parseAuthorization(req.headers.authorization)
    if (!a) throw errors.nodeAuth('no valid "Authorization: Imgswarm-Node key=…, ts=…, nonce=…, sig=…" header')
    const now = this.#now()
    if (Math.abs(now - a.ts) > SKEW_MS) {
      throw errors.nodeAuth(
        `the request's time is ${Math.round((a.ts - now) / 1000)} s off the server's clock (at most ${SKEW_MS / 1000} s allowed); fix the node's clock (NTP)`,
      )
    }
    if (a.ts < this.#started) {
      throw errors.nodeAuth(
        'the request was signed before this server started (a replay, or a node clock behind the server)',
      )
    }
    const raw = publicKey(a)
    let ok = false
    try {
      const key = publicKeyFromRaw(raw)
      ok =
        nodeKeyId(key) === a.keyId &&
        verify(null, signedBytes(a.ts, a.nonce, req.method, req.url, req.rawBody), key, a.sig)
    } catch {
      ok = false
    }
    if (!ok) throw errors.nodeAuth('bad signature')
    const seen = `${a.keyId}:${a.nonce}`
    if (this.#seen.has(seen)) throw errors.nodeAuth('this signed request was already used (replay)')
    if (this.#seen.size >= MAX_SEEN) for (const [k, t] of this.#seen) if (t < now) this.#seen.delete(k)
    this.#seen.set(seen, a.ts + SKEW_MS)
    return a
  }

  /** A preHandler hook: sets req.nodeCredential or throws IMGSWARM_ERR_NODE_AUTH (401). */
  readonly require = async (req: FastifyRequest): Promise<void> => {
    let cred: NodeCredential | undefined
    this.check(req, (a) => {
      cred = this.#fleet.credentials.byKeyId(a.keyId)
      if (!cred) throw errors.nodeAuth(`key ${a.keyId} is unknown or was revoked (node removed or reimage requested)`)
      return cred.publicKey
    })
    const c = cred as NodeCredential
    this.#fleet.credentials.touch(c.pk)
    req.nodeCredential = c
  }
}
