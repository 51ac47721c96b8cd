// HTTPS with a pinned CA (docs/tls.md). When the server URL is https://,
// the client trusts only the CA it was given (the boot image's
// /etc/imgswarm/ca.pem, imgswarm.ca= or --ca), never the public roots: an
// undici Agent whose `connect.ca` replaces the default trust store.
import { X509Certificate } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { Agent, type Dispatcher, getGlobalDispatcher, setGlobalDispatcher } from 'undici'
import { errors, isImgswarmError } from './errors.ts'

/** OpenSSL / Node verification failures: the peer is not who the pinned CA vouches for. Never retried. */
export const TLS_VERIFY_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_SIGNATURE_FAILURE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'INVALID_CA',
  'PATH_LENGTH_EXCEEDED',
  'INVALID_PURPOSE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'HOSTNAME_MISMATCH',
])

const PEM_CERT = /-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\s]+-----END CERTIFICATE-----/g
const MAX_CA_BYTES = 256 * 1024

/** Checks CA text: one or more PEM certificates, each parseable; returns them joined. */
export function parseCaPem(text: string, where: string): string {
  if (text.length > MAX_CA_BYTES) throw errors.caFile(where, `larger than ${MAX_CA_BYTES} bytes`)
  const blocks = text.match(PEM_CERT) ?? []
  if (blocks.length === 0) throw errors.caFile(where, 'holds no PEM CERTIFICATE block')
  for (const b of blocks) {
    try {
      new X509Certificate(b)
    } catch (e) {
      throw errors.caFile(where, `a certificate does not parse (${(e as Error).message})`)
    }
  }
  return `${blocks.join('\n')}\n`
}

export function loadCa(path: string, where: string): string {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (e) {
    throw errors.caFile(where, `cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? 'error'})`)
  }
  return parseCaPem(text, `${where} ${path}`)
}

/** The TLS verification code in a failed fetch (undici nests it in `cause`), if that is why it failed. */
export function tlsFailure(e: unknown): string | undefined {
  for (let c: unknown = e, depth = 0; c && depth < 4; c = (c as { cause?: unknown }).cause, depth++) {
    const code = (c as { code?: unknown }).code
    if (typeof code === 'string' && TLS_VERIFY_CODES.has(code)) return code
  }
  return undefined
}

/** A dispatcher that trusts only `caPem` for https:// (plain http:// is unaffected). */
export function pinnedDispatcher(caPem: string): Dispatcher {
  return new Agent({ connect: { ca: caPem } })
}

/**
 * fetch through the pinned dispatcher. A certificate the CA did not sign (or
 * one for another host) becomes IMGSWARM_ERR_TLS_UNTRUSTED, never a retry.
 */
export function pinnedFetch(caPem: string, dispatcher: Dispatcher = pinnedDispatcher(caPem)): typeof fetch {
  return (async (input: string | URL | Request, init?: RequestInit) => {
    try {
      return await fetch(input, { ...init, dispatcher } as RequestInit)
    } catch (e) {
      if (isImgswarmError(e)) throw e
      const code = tlsFailure(e)
      if (code === undefined) throw e
      const url = typeof input === 'string' || input instanceof URL ? new URL(input) : new URL(input.url)
      throw errors.tlsUntrusted(url.host, code)
    }
  }) as typeof fetch
}

/**
 * Makes every fetch of this process trust only the pinned CA for https:
 * webtorrent's web seed and tracker announces use the global fetch and take
 * no dispatcher of their own. Returns a function that puts the old one back.
 */
export function pinGlobally(caPem: string): () => void {
  const before = getGlobalDispatcher()
  const pinned = pinnedDispatcher(caPem)
  setGlobalDispatcher(pinned)
  return () => {
    setGlobalDispatcher(before)
    void pinned.close().catch(() => undefined)
  }
}
