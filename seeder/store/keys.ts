// The store's ed25519 signing key, made on first use. The private key never
// leaves keys/ (mode 0600); the public key is what nodes pin.
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto'
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { errors } from '../../common/errors.ts'
import { keyId } from '../../common/manifest.ts'

export const PRIVATE_KEY_FILE = 'manifest-signing.key'
export const PUBLIC_KEY_FILE = 'manifest-signing.pub'

export interface SigningKey {
  privateKey: KeyObject
  publicKey: KeyObject
  id: string
  publicPem: string
}

async function readIfExists(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8')
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw e
  }
}

export async function loadOrCreateSigningKey(keysDir: string): Promise<SigningKey> {
  const privFile = join(keysDir, PRIVATE_KEY_FILE)
  let pem = await readIfExists(privFile)
  if (pem === undefined) {
    await mkdir(keysDir, { recursive: true, mode: 0o700 })
    const { privateKey, publicKey } = generateKeyPairSync('ed25519')
    pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString()
    // Write-then-rename with O_EXCL semantics: two packers racing on first
    // use must not end with two different keys.
    const tmp = `${privFile}.${process.pid}.tmp`
    await writeFile(tmp, pem, { mode: 0o600, flag: 'wx' })
    await writeFile(join(keysDir, PUBLIC_KEY_FILE), publicKey.export({ format: 'pem', type: 'spki' }).toString(), {
      mode: 0o644,
    })
    await rename(tmp, privFile)
  }
  return fromPem(pem, privFile)
}

function fromPem(pem: string, file: string): SigningKey {
  let privateKey: KeyObject
  try {
    privateKey = createPrivateKey(pem)
  } catch (e) {
    throw errors.config(file, `not a valid private key (${(e as Error).message})`)
  }
  if (privateKey.asymmetricKeyType !== 'ed25519') throw errors.config(file, 'the signing key must be ed25519')
  const publicKey = createPublicKey(privateKey)
  return {
    privateKey,
    publicKey,
    id: keyId(publicKey),
    publicPem: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
  }
}

/** Loads a public key from a PEM file (for verification against a pinned key). */
export async function loadPublicKey(file: string): Promise<KeyObject> {
  const pem = await readIfExists(file)
  if (pem === undefined)
    throw errors.notFound('public key', file, 'pass --pubkey FILE, or pack an image first so the store has a key')
  try {
    const k = createPublicKey(pem)
    if (k.asymmetricKeyType !== 'ed25519') throw new Error('not an ed25519 key')
    return k
  } catch (e) {
    throw errors.config(file, `not a valid ed25519 public key (${(e as Error).message})`)
  }
}
