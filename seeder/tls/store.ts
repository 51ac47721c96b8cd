// Where `serve.tls = "auto"` keeps its material: STORE/keys/ca.{key,pem}
// (the CA: key 0600, certificate pinned in boot images) and
// STORE/keys/tls-server.{key,pem} (the current server certificate).
import { createPrivateKey, X509Certificate } from 'node:crypto'
import { link, mkdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { errors } from '../../common/errors.ts'
import { createCa, type Pem } from './certs.ts'

export const CA_KEY_FILE = 'ca.key'
export const CA_CERT_FILE = 'ca.pem'
export const SERVER_KEY_FILE = 'tls-server.key'
export const SERVER_CERT_FILE = 'tls-server.pem'

export async function readIfExists(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8')
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw e
  }
}

/** A private key file others can read is refused, as the admin token is: someone may already have it. */
export async function checkPrivate(file: string): Promise<void> {
  const st = await stat(file)
  if ((st.mode & 0o077) !== 0) {
    throw errors.tlsConfig(
      file,
      `mode ${(st.mode & 0o777).toString(8)}: other users can read this private key; chmod 600 it (or replace it if it leaked)`,
    )
  }
}

/** Parses and checks a key + certificate pair: PEM, matching, the certificate a CA (for the CA pair). */
export function checkPair(pem: Pem, where: string, wantCa: boolean): X509Certificate {
  let cert: X509Certificate
  try {
    cert = new X509Certificate(pem.cert)
  } catch (e) {
    throw errors.tlsConfig(where, `not a PEM certificate (${(e as Error).message})`)
  }
  let ok: boolean
  try {
    ok = cert.checkPrivateKey(createPrivateKey(pem.key))
  } catch (e) {
    throw errors.tlsConfig(where, `not a PEM private key (${(e as Error).message})`)
  }
  if (!ok) throw errors.tlsConfig(where, 'the private key does not belong to the certificate')
  if (wantCa && !cert.ca) throw errors.tlsConfig(where, 'the CA certificate is not a CA (basicConstraints)')
  return cert
}

async function writeAtomic(file: string, text: string, mode: number): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`
  await writeFile(tmp, text, { mode, flag: 'w' })
  await rename(tmp, file)
}

/** STORE/keys/ca.{key,pem}: loaded, or made once (two servers starting at once agree on one CA). */
export async function loadOrCreateCa(keysDir: string, name: string): Promise<{ pem: Pem; cert: X509Certificate }> {
  const keyFile = join(keysDir, CA_KEY_FILE)
  const certFile = join(keysDir, CA_CERT_FILE)
  let key = await readIfExists(keyFile)
  if (key === undefined) {
    await mkdir(keysDir, { recursive: true, mode: 0o700 })
    const made = createCa(name)
    const tmp = `${keyFile}.${process.pid}.tmp`
    await writeFile(tmp, made.key, { mode: 0o600, flag: 'wx' })
    try {
      // The certificate first: whoever wins the link below also wrote the matching ca.pem last.
      await link(tmp, keyFile)
      await writeAtomic(certFile, made.cert, 0o644)
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e
    } finally {
      await unlink(tmp)
    }
    key = (await readIfExists(keyFile)) as string
  }
  await checkPrivate(keyFile)
  const cert = await readIfExists(certFile)
  if (cert === undefined) {
    throw errors.tlsConfig(certFile, `missing while ${keyFile} exists; restore it from a backup (boot images pin it)`)
  }
  const pem = { key, cert }
  return { pem, cert: checkPair(pem, certFile, true) }
}

export async function readServerPair(keysDir: string): Promise<Pem | undefined> {
  const key = await readIfExists(join(keysDir, SERVER_KEY_FILE))
  const cert = await readIfExists(join(keysDir, SERVER_CERT_FILE))
  return key === undefined || cert === undefined ? undefined : { key, cert }
}

export async function writeServerPair(keysDir: string, pem: Pem): Promise<void> {
  await writeAtomic(join(keysDir, SERVER_KEY_FILE), pem.key, 0o600)
  await writeAtomic(join(keysDir, SERVER_CERT_FILE), pem.cert, 0o644)
}
