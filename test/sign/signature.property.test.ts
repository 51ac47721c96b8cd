// Property tests of the two parsers of hostile input this work adds: the
// plan signature header (common/plan-signature.ts) and network lists
// (common/networks.ts). A header is anything a rogue server sends; a network
// list is anything an operator types.
import { generateKeyPairSync } from 'node:crypto'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { checkPlanSignature } from '../../client/plan/signature.ts'
import { isImgswarmError } from '../../common/errors.ts'
import { parseNetworks } from '../../common/networks.ts'
import { signPlan, verifyPlanSignature } from '../../common/plan-signature.ts'
import { RUNS } from '../support/fuzz.ts'

const KEY = generateKeyPairSync('ed25519')
const BODY = Buffer.from('{"v":1,"plan":"whatever the server sent"}')
const Q = { hostname: 'n1', nonce: 'property-nonce-0123456789' }
const GOOD = signPlan(BODY, Q, KEY.privateKey)

function code(f: () => unknown): string {
  try {
    f()
  } catch (e) {
    return isImgswarmError(e) ? e.code : `uncoded: ${String(e)}`
  }
  return 'accepted'
}

describe('the plan signature header', () => {
  it('a random header is refused with IMGSWARM_ERR_PLAN_SIGNATURE, never anything else', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string(), fc.base64String(), fc.stringMatching(/^[A-Za-z0-9_-]{0,200}\.[A-Za-z0-9_-]{0,200}$/)),
        (h) => {
          expect(code(() => verifyPlanSignature(BODY, h, KEY.publicKey))).toBe('IMGSWARM_ERR_PLAN_SIGNATURE')
        },
      ),
      { numRuns: RUNS },
    )
  })

  it('changing any one character of a valid header makes it fail the signature', () => {
    fc.assert(
      fc.property(fc.nat({ max: GOOD.length - 1 }), fc.constantFrom(...'AZaz09_-.x'), (i, ch) => {
        fc.pre(GOOD[i] !== ch)
        const h = `${GOOD.slice(0, i)}${ch}${GOOD.slice(i + 1)}`
        // The last base64url character carries unused bits: some changes decode to the same bytes.
        const r = code(() => verifyPlanSignature(BODY, h, KEY.publicKey))
        if (r === 'accepted')
          expect(Buffer.from(h.split('.')[1] ?? '', 'base64url')).toEqual(
            Buffer.from(GOOD.split('.')[1] ?? '', 'base64url'),
          )
        else expect(r).toBe('IMGSWARM_ERR_PLAN_SIGNATURE')
      }),
      { numRuns: RUNS },
    )
  })

  it('claims signed with the right key but any other body, node or nonce never pass the node checks', () => {
    fc.assert(
      fc.property(
        fc.record({
          body: fc.oneof(fc.constant(new Uint8Array(BODY)), fc.uint8Array({ maxLength: 64 })),
          hostname: fc.oneof(
            fc.constant(Q.hostname),
            fc.constant(undefined),
            fc.stringMatching(/^[a-z][a-z0-9-]{0,10}$/),
          ),
          nonce: fc.oneof(fc.constant(Q.nonce), fc.constant(undefined), fc.stringMatching(/^[A-Za-z0-9_-]{16,24}$/)),
          skewMin: fc.integer({ min: -3000, max: 3000 }),
        }),
        (r) => {
          const h = signPlan(Buffer.from(r.body), { hostname: r.hostname, nonce: r.nonce }, KEY.privateKey)
          const res = code(() => checkPlanSignature(BODY, h, Q, KEY.publicKey, Date.now() + r.skewMin * 60_000))
          const same = Buffer.from(r.body).equals(BODY) && r.hostname === Q.hostname && r.nonce === Q.nonce
          if (same) expect(res).toBe('accepted')
          else expect(res).toMatch(/^IMGSWARM_ERR_PLAN_(SIGNATURE|NOT_FOR_NODE|REPLAY|EXPIRED)$/)
        },
      ),
      { numRuns: RUNS },
    )
  })
})

/** The reference: an IPv4 address as a 32-bit number. */
const v4 = (a: string) => a.split('.').reduce((n, p) => n * 256 + Number(p), 0)

describe('network lists', () => {
  const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((t) => t.join('.'))

  it('an IPv4 CIDR contains exactly the addresses whose first PREFIX bits match (and their ::ffff: forms)', () => {
    fc.assert(
      fc.property(ipv4, fc.integer({ min: 0, max: 32 }), ipv4, (net, prefix, addr) => {
        const list = parseNetworks([`${net}/${prefix}`], 'test')
        const mask = prefix === 0 ? 0 : 2 ** 32 - 2 ** (32 - prefix)
        const want = (v4(net) & mask) >>> 0 === (v4(addr) & mask) >>> 0
        expect(list.contains(addr)).toBe(want)
        expect(list.contains(`::ffff:${addr}`)).toBe(want)
      }),
      { numRuns: RUNS },
    )
  })

  it('anything else than an address with an optional prefix is IMGSWARM_ERR_NETWORK_LIST', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (s) => {
        const r = code(() => parseNetworks([s], 'test'))
        if (r !== 'accepted') expect(r).toBe('IMGSWARM_ERR_NETWORK_LIST')
      }),
      { numRuns: RUNS },
    )
    for (const bad of ['10.0.0.0/33', '::/129', '10.0.0.0/-1', '10.0.0.0/ 8', '1.2.3', 'x/8', '10.0.0.0/8/8', '']) {
      expect(
        code(() => parseNetworks([bad], 'test')),
        bad,
      ).toBe('IMGSWARM_ERR_NETWORK_LIST')
    }
  })
})
