// Node credentials (docs/security.md, "Node credentials"): each installed
// node holds an ed25519 private key; the server keeps only the public key.
// The agent signs every request:
//
//   Authorization: Imgswarm-Node key=KEYID, ts=UNIX_MS, nonce=RANDOM, sig=BASE64
//   signed bytes:  "imgswarm-node-v1\n" TS "\n" NONCE "\n" METHOD "\n" PATH?QUERY "\n" hex(SHA-256(body))
//
// The server accepts a timestamp within SKEW_MS of its own clock, not older
// than its own start, and each (key, nonce) once: a replay is refused. The
// enrol request is signed the same way with the key it registers (proof of
// possession), besides carrying the one-time token of the signed plan.
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
  sign,
} from 'node:crypto'

export const AUTH_SCHEME = 'Imgswarm-Node'
export const SIGN_CONTEXT = 'imgswarm-node-v1'
/** How far a node's clock may be from the server's, either way. */
export const SKEW_MS = 5 * 60_000

export function bodyHash(body: string | Buffer | undefined): string {
  return createHash('sha256')
    .update(body ?? '')
    .digest('hex')
}

export function signedBytes(
  ts: number,
  nonce: string,
  method: string,
  path: string,
  body: string | Buffer | undefined,
): Buffer {
  return Buffer.from(`${SIGN_CONTEXT}\n${ts}\n${nonce}\n${method.toUpperCase()}\n${path}\n${bodyHash(body)}`)
}

/** A public key's id: the first 32 hex digits of the SHA-256 of its raw 32 bytes. */
export function nodeKeyId(pub: KeyObject): string {
  return createHash('sha256').update(rawPublicKey(pub)).digest('hex').slice(0, 32)
}

export function rawPublicKey(pub: KeyObject): Buffer {
  const der = pub.export({ format: 'der', type: 'spki' })
  return Buffer.from(der.subarray(der.length - 32))
}

/** A public key from its raw 32 bytes in base64 (what a node registers). */
export function publicKeyFromRaw(b64: string): KeyObject {
  const raw = Buffer.from(b64, 'base64')
  if (raw.length !== 32 || raw.toString('base64') !== b64) throw new Error('not 32 bytes of base64')
  const prefix = Buffer.from('302a300506032b6570032100', 'hex')
  return createPublicKey({ key: Buffer.concat([prefix, raw]), format: 'der', type: 'spki' })
}

export interface NodeKeyPair {
  privatePem: string
  publicRaw: string
  keyId: string
}

export function generateNodeKey(): NodeKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519')
  return {
    privatePem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    publicRaw: rawPublicKey(publicKey).toString('base64'),
    keyId: nodeKeyId(publicKey),
  }
}

export function loadNodeKey(pem: string): { key: KeyObject; keyId: string } {
  const key = createPrivateKey(pem)
  if (key.asymmetricKeyType !== 'ed25519') throw new Error('not an ed25519 key')
  return { key, keyId: nodeKeyId(createPublicKey(key)) }
}

/** The Authorization header value for one request. */
export function authorization(
  k: { key: KeyObject; keyId: string },
  method: string,
  path: string,
  body: string | Buffer | undefined,
  now = Date.now(),
  nonce = randomBytes(16).toString('base64url'),
): string {
  const sig = sign(null, signedBytes(now, nonce, method, path, body), k.key).toString('base64')
  return `${AUTH_SCHEME} key=${k.keyId}, ts=${now}, nonce=${nonce}, sig=${sig}`
}

export interface ParsedAuth {
  keyId: string
  ts: number
  nonce: string
  sig: Buffer
}

const HEADER =
  /^Imgswarm-Node key=([0-9a-f]{32}), ts=([0-9]{1,15}), nonce=([A-Za-z0-9_-]{16,43}), sig=([A-Za-z0-9+/]{86}==)$/

/** Parses the header strictly; undefined for anything else. */
export function parseAuthorization(v: string | undefined): ParsedAuth | undefined {
  if (v === undefined || v.length > 300) return undefined
  const m = HEADER.exec(v)
  if (!m) return undefined
  return { keyId: m[1] as string, ts: Number(m[2]), nonce: m[3] as string, sig: Buffer.from(m[4] as string, 'base64') }
}
