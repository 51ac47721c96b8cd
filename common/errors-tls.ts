// Error codes of TLS (serve's certificates, the client's pinned CA) and of
// "direct" overrides (secrets fetched over the API, never through the swarm).
import { define, HOSTILE, USAGE } from './error-core.ts'

export const tlsErrors = {
  tlsConfig: define('IMGSWARM_ERR_TLS_CONFIG', USAGE, (where: string, detail: string) => ({
    message: `TLS ${where}: ${detail}`,
    hint: 'see docs/tls.md: serve.tls = "auto", or [serve.tls] with cert and key (PEM files)',
  })),
  tlsUntrusted: define('IMGSWARM_ERR_TLS_UNTRUSTED', HOSTILE, (host: string, reason: string) =>
    // A certificate outside its validity at this node's clock is most often the node's clock (fault 5), not a rogue server.
    reason === 'CERT_NOT_YET_VALID' || reason === 'CERT_HAS_EXPIRED'
      ? {
          message: `the server's certificate is not valid at this node's clock, ${new Date().toISOString()} (${host}: ${reason}): this node's clock is wrong, or the certificate has expired`,
          hint: 'set the clock (hwclock --set, or NTP before the install) and try again; serve renews its own certificate 30 days before it expires (docs/tls.md); nothing was written',
        }
      : {
          message: `the server's certificate is not signed by the pinned CA (${host}: ${reason}): a rogue server, or rebuild the boot image after changing the CA`,
          hint: 'check imgswarm.ca= / --ca (the server writes its CA to STORE/keys/ca.pem) and that imgswarm.server= names a host the certificate covers; nothing was written',
        },
  ),
  tlsNoCa: define('IMGSWARM_ERR_TLS_NO_CA', USAGE, (server: string) => ({
    message: `the server ${server} is https://, but no CA is pinned; the client trusts no other`,
    hint: "pass --ca FILE (the server's STORE/keys/ca.pem), boot with imgswarm.ca=/etc/imgswarm/ca.pem, or rebuild the boot image (it pins STORE/keys/ca.pem)",
  })),
  caFile: define('IMGSWARM_ERR_TLS_CA_FILE', USAGE, (where: string, detail: string) => ({
    message: `the pinned CA (${where}): ${detail}`,
    hint: 'give a PEM file with one or more CERTIFICATE blocks: the CA that signs the server certificate',
  })),
  directInsecure: define('IMGSWARM_ERR_DIRECT_INSECURE', 1, (what: string) => ({
    message: `${what} has a direct (secret) override, and this server does not serve TLS: it would cross the network in clear`,
    hint: 'turn TLS on (serve.tls = "auto", docs/tls.md), or accept the risk with serve.allow_insecure_direct = true (docs/secrets.md)',
  })),
  ticketRefused: define('IMGSWARM_ERR_TICKET_REFUSED', 1, (detail: string) => ({
    message: `install ticket refused: ${detail}`,
    hint: 'a ticket is minted with the install plan and is good for one download of each direct override it names; restart the install to get a new plan and ticket',
  })),
  directFetch: define('IMGSWARM_ERR_DIRECT_FETCH', HOSTILE, (what: string, detail: string) => ({
    message: `direct override ${what}: ${detail}; nothing of it was applied`,
    hint: 'restart the install (a new plan mints a new ticket); if it repeats, check the server log and docs/secrets.md',
  })),
}
