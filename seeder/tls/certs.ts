// X.509 creation for `serve.tls = "auto"`: a self-signed CA and a server
// certificate it signs. Node's crypto verifies and parses certificates but
// cannot create them, so node-forge builds and signs the structures; the key
// pairs come from Node's native RSA generator (forge's JavaScript one is slow).
import { generateKeyPairSync, randomBytes } from 'node:crypto'
import { isIP } from 'node:net'
import forge from 'node-forge'

export interface Pem {
  key: string
  cert: string
}

const DAY_MS = 86_400_000
/** The CA outlives many boot images: replacing it means rebuilding every one (docs/tls.md). */
export const CA_DAYS = 3650
/** The server certificate: short enough to matter, renewed at RENEW_DAYS left. */
export const LEAF_DAYS = 90
export const RENEW_DAYS = 30
const RSA_BITS = 2048

function keyPair(): { pem: string; forgeKey: forge.pki.rsa.PrivateKey; pub: forge.pki.rsa.PublicKey } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: RSA_BITS })
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string
  return {
    pem,
    forgeKey: forge.pki.privateKeyFromPem(pem),
    pub: forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }) as string),
  }
}

/** A positive 128-bit serial (RFC 5280: at most 20 octets, unique per CA). */
function serial(): string {
  const b = randomBytes(16)
  b[0] = (b[0] as number) & 0x7f
  return b.toString('hex')
}

function validity(cert: forge.pki.Certificate, now: Date, days: number): void {
  // An hour of slack backwards: a node whose clock runs a little behind must not see "not yet valid".
  cert.validity.notBefore = new Date(now.getTime() - 3600_000)
  cert.validity.notAfter = new Date(now.getTime() + days * DAY_MS)
}

/** A new self-signed CA that may sign server certificates only (path length 0). */
export function createCa(name: string, now = new Date()): Pem {
  const k = keyPair()
  const cert = forge.pki.createCertificate()
  cert.publicKey = k.pub
  cert.serialNumber = serial()
  validity(cert, now, CA_DAYS)
  const subject = [
    { name: 'commonName', value: name },
    { name: 'organizationName', value: 'imgswarm' },
  ]
  cert.setSubject(subject)
  cert.setIssuer(subject)
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ])
  cert.sign(k.forgeKey, forge.md.sha256.create())
  return { key: k.pem, cert: forge.pki.certificateToPem(cert) }
}

/** One subjectAltName: an IP literal or a DNS name. */
function altName(san: string): { type: number; ip?: string; value?: string } {
  const host = san.replace(/^\[(.*)\]$/, '$1')
  return isIP(host) === 0 ? { type: 2, value: host.toLowerCase() } : { type: 7, ip: host }
}

/** A server certificate for `names` (the first is also the common name), signed by the CA. */
export function createServerCert(ca: Pem, names: readonly string[], now = new Date()): Pem {
  const first = names[0]
  if (first === undefined) throw new Error('a server certificate needs at least one name')
  const caCert = forge.pki.certificateFromPem(ca.cert)
  const caKey = forge.pki.privateKeyFromPem(ca.key)
  const k = keyPair()
  const cert = forge.pki.createCertificate()
  cert.publicKey = k.pub
  cert.serialNumber = serial()
  validity(cert, now, LEAF_DAYS)
  cert.setSubject([{ name: 'commonName', value: first.replace(/^\[(.*)\]$/, '$1').slice(0, 64) }])
  cert.setIssuer(caCert.subject.attributes)
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames: names.map(altName) },
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: caCert.generateSubjectKeyIdentifier().getBytes() },
  ])
  cert.sign(caKey, forge.md.sha256.create())
  return { key: k.pem, cert: forge.pki.certificateToPem(cert) }
}
