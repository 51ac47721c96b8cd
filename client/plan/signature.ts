// The client's side of signed plans (docs/plan-signing.md): the signature
// with the pinned key, the node binding, the nonce and the validity window,
// all before the plan body is parsed. Freshness rests on the nonce, so a
// node whose clock is off (no RTC sync) still installs from the real
// server; the window then only tells it how far off its clock is.
import type { KeyObject } from 'node:crypto'
import { signErrors } from '../../common/errors-sign.ts'
import {
  boundIdentity,
  PLAN_CLOCK_TOLERANCE_MS,
  type PlanClaims,
  type PlanRequestIdentity,
  verifyPlanSignature,
} from '../../common/plan-signature.ts'

export interface PlanSignatureCheck {
  claims: PlanClaims
  /** The signed issue time minus this node's clock when it checked: > 0 when the node is behind. */
  clockSkewMs: number
  /** True when the node's clock is outside the window and the nonce alone proved the plan fresh. */
  clockOff: boolean
}

function span(ms: number): string {
  // Rounded to the minute first: 2 days less the few seconds of a request is "2 d 0 h", not "1 d 23 h".
  const min = Math.round(Math.abs(ms) / 60_000)
  const d = Math.floor(min / 1440)
  const h = Math.floor((min % 1440) / 60)
  const m = min % 60
  return d > 0 ? `${d} d ${h} h` : h > 0 ? `${h} h ${m} min` : `${m} min`
}

/**
 * Checks a fetched plan body against its signature header for the identity
 * and nonce this client sent. Throws IMGSWARM_ERR_PLAN_SIGNATURE,
 * _PLAN_NOT_FOR_NODE, _PLAN_REPLAY or _PLAN_EXPIRED.
 */
export function checkPlanSignature(
  body: Buffer,
  header: string | null,
  sent: PlanRequestIdentity,
  pub: KeyObject,
  now: number,
): PlanSignatureCheck {
  const claims = verifyPlanSignature(body, header, pub)
  const want = boundIdentity(sent)
  for (const k of ['mac', 'hostname', 'ip'] as const) {
    if (claims[k] !== want[k]) {
      throw signErrors.planNotForNode(
        `it names ${k} ${claims[k] ?? '(none)'}, this node asked as ${k} ${want[k] ?? '(none)'}`,
      )
    }
  }
  const fresh = want.nonce !== null && claims.nonce === want.nonce
  const issued = Date.parse(claims.issuedAt)
  const expires = Date.parse(claims.expiresAt)
  const inWindow = now >= issued - PLAN_CLOCK_TOLERANCE_MS && now <= expires + PLAN_CLOCK_TOLERANCE_MS
  const clock = new Date(now).toISOString()
  if (inWindow && !fresh) {
    throw signErrors.planReplay(
      `it carries nonce ${claims.nonce ?? '(none)'}, this request sent ${want.nonce ?? '(none)'}`,
    )
  }
  if (!inWindow && !fresh) {
    const detail =
      now > expires
        ? `it expired at ${claims.expiresAt}, ${span(now - expires)} before this node's clock (${clock})`
        : `it is valid only from ${claims.issuedAt}, ${span(issued - now)} after this node's clock (${clock})`
    throw signErrors.planExpired(`${detail}, and it does not answer this request's nonce`)
  }
  return { claims, clockSkewMs: issued - now, clockOff: !inWindow }
}

/** The console line for a node whose clock is off (the plan was accepted on its nonce). */
export function clockWarning(c: PlanSignatureCheck): string {
  const dir = c.clockSkewMs > 0 ? 'behind' : 'ahead of'
  return `clock: this node's clock is ${span(c.clockSkewMs)} ${dir} the server's signed time (${c.claims.issuedAt}); the plan is fresh (it answers this request's nonce), continuing`
}
