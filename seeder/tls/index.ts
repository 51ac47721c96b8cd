// TLS for `imgswarm serve` (docs/tls.md): with serve.tls = "auto" a CA of
// our own (made once, pinned in boot images) signs a server certificate for
// the public URL's host and the configured names, renewed before it expires;
// with serve.tls.cert/key the operator's files are used (and re-read when
// they change).
import { X509Certificate } from 'node:crypto'
import { isIP } from 'node:net'
import { join } from 'node:path'
import type { TlsSetting } from '../../common/config-tls.ts'
import { errors } from '../../common/errors.ts'
import { createServerCert, type Pem, RENEW_DAYS } from './certs.ts'
import { CA_CERT_FILE, checkPair, loadOrCreateCa, readIfExists, readServerPair, writeServerPair } from './store.ts'

export { CA_DAYS, createCa, createServerCert, LEAF_DAYS, type Pem, RENEW_DAYS } from './certs.ts'
export { CA_CERT_FILE, CA_KEY_FILE, SERVER_CERT_FILE, SERVER_KEY_FILE } from './store.ts'

export interface ServerTlsInit {
  setting: TlsSetting
  /** STORE/keys. */
  keysDir: string
  /** serve.public_url: its host must be covered by the certificate. */
  publicUrl: string
  warn?: (msg: string) => void
}

export interface ServerTls {
  /** What https.createServer / setSecureContext take. */
  readonly key: string
  readonly cert: string
  /** The CA certificate (PEM) nodes pin; undefined when the operator's chain is used and no STORE/keys/ca.pem exists. */
  readonly ca: string | undefined
  readonly notAfter: Date
  readonly names: readonly string[]
  /**
   * Renews the server certificate when RENEW_DAYS or less are left (auto), or
   * re-reads the operator's files when they changed; true when the pair changed.
   */
  refresh(now?: Date): Promise<boolean>
}

const DAY_MS = 86_400_000

function hostOf(url: string): string {
  try {
    return new URL(url).hostname.replace(/^\[(.*)\]$/, '$1')
  } catch {
    throw errors.tlsConfig('serve.public_url', `${JSON.stringify(url)} is not a URL`)
  }
}

/** True when the certificate covers every name (DNS names and IP literals). */
function covers(cert: X509Certificate, names: readonly string[]): boolean {
  return names.every((n) => {
    const h = n.replace(/^\[(.*)\]$/, '$1')
    return isIP(h) === 0 ? cert.checkHost(h, { subject: 'never' }) !== undefined : cert.checkIP(h) !== undefined
  })
}

function leafOf(cert: string): X509Certificate {
  return new X509Certificate(cert)
}

async function autoTls(init: ServerTlsInit, names: string[]): Promise<ServerTls> {
  const ca = await loadOrCreateCa(init.keysDir, `imgswarm CA ${names[0] ?? ''}`.trim())
  const usable = (p: Pem | undefined, now: Date): p is Pem => {
    if (!p) return false
    try {
      const c = checkPair(p, 'the server certificate', false)
      return (
        c.checkIssued(ca.cert) &&
        c.verify(ca.cert.publicKey) &&
        covers(c, names) &&
        new Date(c.validTo).getTime() - now.getTime() > RENEW_DAYS * DAY_MS
      )
    } catch {
      return false
    }
  }
  let pair = await readServerPair(init.keysDir)
  const issue = async (now: Date) => {
    const made = createServerCert(ca.pem, names, now)
    await writeServerPair(init.keysDir, made)
    return made
  }
  if (!usable(pair, new Date())) pair = await issue(new Date())
  let current: Pem = pair
  return {
    get key() {
      return current.key
    },
    get cert() {
      return current.cert
    },
    ca: ca.pem.cert,
    get notAfter() {
      return new Date(leafOf(current.cert).validTo)
    },
    names,
    async refresh(now = new Date()) {
      if (usable(current, now)) return false
      current = await issue(now)
      return true
    },
  }
}

async function fileTls(init: ServerTlsInit, s: Extract<TlsSetting, { mode: 'files' }>, names: string[]) {
  const read = async (): Promise<Pem> => {
    const cert = await readIfExists(s.cert)
    const key = await readIfExists(s.key)
    if (cert === undefined) throw errors.tlsConfig(s.cert, 'the certificate file does not exist')
    if (key === undefined) throw errors.tlsConfig(s.key, 'the key file does not exist')
    const c = checkPair({ key, cert }, s.cert, false)
    if (new Date(c.validTo).getTime() < Date.now()) throw errors.tlsConfig(s.cert, `expired on ${c.validTo}`)
    if (!covers(c, names)) {
      init.warn?.(`TLS: ${s.cert} does not cover ${names.join(', ')}: nodes will refuse it (docs/tls.md)`)
    }
    return { key, cert }
  }
  let current = await read()
  // The operator's CA, if put where boot images pick it up.
  const ca = await readIfExists(join(init.keysDir, CA_CERT_FILE))
  return {
    get key() {
      return current.key
    },
    get cert() {
      return current.cert
    },
    ca,
    get notAfter() {
      return new Date(leafOf(current.cert).validTo)
    },
    names,
    async refresh() {
      const next = await read().catch((e: unknown) => {
        init.warn?.(`TLS: keeping the current certificate: ${(e as Error).message}`)
        return current
      })
      if (next.cert === current.cert && next.key === current.key) return false
      current = next
      return true
    },
  } satisfies ServerTls
}

/** Loads (or, for "auto", makes) the server's TLS material. */
export async function loadServerTls(init: ServerTlsInit): Promise<ServerTls> {
  if (!/^https:\/\//i.test(init.publicUrl)) {
    throw errors.tlsConfig(
      'serve.public_url',
      `is ${init.publicUrl}: with serve.tls on, nodes must be told an https:// URL (set server_url or serve.public_url)`,
    )
  }
  const names = [...new Set([hostOf(init.publicUrl), ...init.setting.sans.map((n) => n.toLowerCase())])]
  return init.setting.mode === 'auto' ? autoTls(init, names) : fileTls(init, init.setting, names)
}
