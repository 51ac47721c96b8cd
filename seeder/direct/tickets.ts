// Install tickets (docs/secrets.md): minted when a plan with direct overrides
// is served, bound to that plan's direct overrides and to the address that
// asked, good for DOWNLOADS_PER_TICKET downloads of each (a transfer cut
// short is retried by the client), expiring after TICKET_MS. Only the
// SHA-256 of a ticket is kept, in memory: a server restart voids them all.
import { createHash, randomBytes } from 'node:crypto'
import { errors } from '../../common/errors.ts'

export const TICKET_MS = 6 * 3600_000
const MAX_TICKETS = 20_000
/** Archive downloads per direct override per ticket (client/install/direct.ts DIRECT_ATTEMPTS). */
export const DOWNLOADS_PER_TICKET = 3

interface Entry {
  ip: string
  expires: number
  /** Downloads left, per `name@version` of the direct overrides. */
  left: Map<string, number>
}

const digest = (t: string) => createHash('sha256').update(t).digest('hex')

export class Tickets {
  readonly #map = new Map<string, Entry>()
  readonly #now: () => number

  constructor(now: () => number = Date.now) {
    this.#now = now
  }

  mint(ip: string, refs: string[]): string {
    const now = this.#now()
    if (this.#map.size >= MAX_TICKETS) {
      for (const [k, e] of this.#map)
        if (e.expires <= now || [...e.left.values()].every((n) => n <= 0)) this.#map.delete(k)
      // Still full: the oldest go first (Map keeps insertion order).
      for (const k of this.#map.keys()) {
        if (this.#map.size < MAX_TICKETS) break
        this.#map.delete(k)
      }
    }
    const ticket = randomBytes(32).toString('base64url')
    this.#map.set(digest(ticket), {
      ip,
      expires: now + TICKET_MS,
      left: new Map(refs.map((r) => [r, DOWNLOADS_PER_TICKET])),
    })
    return ticket
  }

  /** Checks the ticket for `ref` from `ip`; `consume` spends it for that override. Throws IMGSWARM_ERR_TICKET_REFUSED. */
  check(ticket: string | undefined, ref: string, ip: string, consume: boolean): void {
    if (ticket === undefined) throw errors.ticketRefused('no Authorization: Bearer <ticket> header')
    const key = digest(ticket)
    const e = this.#map.get(key)
    if (!e) throw errors.ticketRefused('unknown ticket (never issued, expired, or the server restarted)')
    if (e.expires <= this.#now()) {
      this.#map.delete(key)
      throw errors.ticketRefused('the ticket expired')
    }
    if (e.ip !== ip) throw errors.ticketRefused('the ticket was issued to another address')
    const n = e.left.get(ref)
    if (n === undefined) throw errors.ticketRefused(`the ticket does not cover ${ref}`)
    if (n <= 0)
      throw errors.ticketRefused(`${ref} was already downloaded ${DOWNLOADS_PER_TICKET} times with this ticket`)
    if (consume) e.left.set(ref, n - 1)
  }
}
