// Error codes of signed install plans, install-time checks, request rate
// limits and the tracker's network allow-list (docs/plan-signing.md).
import { define, HOSTILE, USAGE } from './error-core.ts'

export const signErrors = {
  planSignature: define('IMGSWARM_ERR_PLAN_SIGNATURE', HOSTILE, (detail: string) => ({
    message: `the install plan is not signed by the pinned server key (${detail}): a rogue server or a wrong imgswarm.pubkey; nothing was written`,
    hint: "pin the server's STORE/keys/manifest-signing.pub (imgswarm keys show prints it) and check which server answers imgswarm.server=",
  })),
  planNotForNode: define('IMGSWARM_ERR_PLAN_NOT_FOR_NODE', HOSTILE, (detail: string) => ({
    message: `the signed install plan was issued for another node (${detail}); nothing was written`,
    hint: 'a plan captured for one node is being replayed to another: check what answers on the provisioning network',
  })),
  planReplay: define('IMGSWARM_ERR_PLAN_REPLAY', HOSTILE, (detail: string) => ({
    message: `the signed install plan does not answer this request (${detail}): a replayed plan; nothing was written`,
    hint: 'an old plan is being played back: check what answers on the provisioning network',
  })),
  planExpired: define('IMGSWARM_ERR_PLAN_EXPIRED', HOSTILE, (detail: string) => ({
    message: `the signed install plan is outside its validity window (${detail}); nothing was written`,
    hint: "if this node's clock is wrong, set it (hwclock); a fresh plan from the real server is accepted even then, because it answers this request's nonce",
  })),
  unknownNode: define('IMGSWARM_ERR_UNKNOWN_NODE', 1, (who: string, hint: string) => ({
    message: `install plan for ${who} not found: the node is not in the cluster config or plans file and not adopted`,
    hint,
  })),
  tooManyRequests: define('IMGSWARM_ERR_TOO_MANY_REQUESTS', USAGE, (what: string, retryAfterSec: number) => ({
    message: `too many ${what} requests from this address; try again in ${retryAfterSec} s`,
    hint: 'many nodes behind one NAT share a limit: raise serve.rate_limit (docs/plan-signing.md#rate-limits), or 0 turns it off',
  })),
  networkList: define('IMGSWARM_ERR_NETWORK_LIST', USAGE, (where: string, value: string, detail: string) => ({
    message: `${where}: ${JSON.stringify(value)} is not a network: ${detail}`,
    hint: 'write networks as CIDR, like "10.0.0.0/8" or "fd00::/8" (a bare address means that one host)',
  })),
  networkNotAllowed: define('IMGSWARM_ERR_NETWORK_NOT_ALLOWED', 1, (what: string, address: string) => ({
    message: `${what} refused: ${address} is not on this tracker's configured networks`,
    hint: 'ask the operator to add your network to serve.tracker.networks (or imgswarm tracker --allow-network), or ask from a host inside it',
  })),
}
