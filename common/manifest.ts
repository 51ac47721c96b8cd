// The signed manifest of a packed image or override. The signature covers
// the manifest file's exact bytes, so no canonical-JSON rules are needed:
// verify the bytes, then parse them.
import { createHash, createPublicKey, type KeyObject, sign, verify } from 'node:crypto'
import { errors } from './errors.ts'

export const MANIFEST_SCHEMA = 'imgswarm/manifest@1'

export interface Manifest {
  schema: typeof MANIFEST_SCHEMA
  kind: 'image' | 'override' | 'content' | 'delta'
  name: string
  version: string
  archive: {
    file: string
    size: number
    sha256: string
    compression: 'none' | 'zstd'
  }
  /** The archive index (docs/archive-index.md); only for uncompressed archives, absent otherwise. */
  index?: {
    file: string
    size: number
    sha256: string
  }
  torrent: {
    infoHash: string
    pieceLength: number
    pieces: number
  }
  tree: {
    entries: number
    files: number
    bytes: number
  }
  createdAt: string
  packer: string
}

export interface ManifestSignature {
  alg: 'ed25519'
  keyId: string
  sig: string
}

/** A key's id: the first 16 hex digits of the SHA-256 of its raw public key. */
export function keyId(pub: KeyObject): string {
  const der = pub.export({ format: 'der', type: 'spki' })
  return createHash('sha256')
    .update(der.subarray(der.length - 32))
    .digest('hex')
    .slice(0, 16)
}

export function signManifest(bytes: Buffer, privateKey: KeyObject): ManifestSignature {
  const pub = createPublicKey(privateKey)
  return { alg: 'ed25519', keyId: keyId(pub), sig: sign(null, bytes, privateKey).toString('base64') }
}

const HEX64 = /^[0-9a-f]{64}$/
const HEX40 = /^[0-9a-f]{40}$/

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0
}

const INDEX_KEYS = ['file', 'size', 'sha256']

/** The optional `index` record: strict when present (exactly file, size, sha256). */
function checkIndexRecord(v: unknown, compression: unknown, bad: (d: string) => Error): void {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad('index must be an object')
  const x = v as Record<string, unknown>
  for (const k of Object.keys(x)) if (!INDEX_KEYS.includes(k)) throw bad(`index.${k}: unknown field`)
  if (typeof x.file !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._+@-]{0,200}\.index\.json$/.test(x.file)) {
    throw bad('index.file must be a plain file name ending in .index.json')
  }
  if (!isCount(x.size) || x.size === 0) throw bad('index.size must be a positive integer')
  if (typeof x.sha256 !== 'string' || !HEX64.test(x.sha256)) throw bad('index.sha256 must be 64 lowercase hex digits')
  if (compression !== 'none') throw bad('index is only allowed for uncompressed archives (compression "none")')
}

/** Checks the shape of parsed manifest JSON; throws a coded error naming the field. */
export function validateManifest(v: unknown, file: string): Manifest {
  const bad = (detail: string) => errors.manifestInvalid(file, detail)
  if (typeof v !== 'object' || v === null) throw bad('not a JSON object')
  const m = v as Record<string, unknown>
  if (m.schema !== MANIFEST_SCHEMA)
    throw bad(`unknown schema ${JSON.stringify(m.schema)} (expected ${MANIFEST_SCHEMA})`)
  if (m.kind !== 'image' && m.kind !== 'override' && m.kind !== 'content' && m.kind !== 'delta')
    throw bad('kind must be "image", "override", "content" or "delta"')
  for (const k of ['name', 'version', 'createdAt', 'packer'] as const) {
    if (typeof m[k] !== 'string' || (m[k] as string).length === 0 || (m[k] as string).length > 256) {
      throw bad(`${k} must be a non-empty string`)
    }
  }
  const a = m.archive as Record<string, unknown> | undefined
  if (typeof a !== 'object' || a === null) throw bad('archive missing')
  if (typeof a.file !== 'string' || a.file.includes('/') || a.file.length === 0)
    throw bad('archive.file must be a plain file name')
  if (!isCount(a.size)) throw bad('archive.size must be a non-negative integer')
  if (typeof a.sha256 !== 'string' || !HEX64.test(a.sha256)) throw bad('archive.sha256 must be 64 lowercase hex digits')
  if (a.compression !== 'none' && a.compression !== 'zstd') throw bad('archive.compression must be "none" or "zstd"')
  if (Object.hasOwn(m, 'index')) checkIndexRecord(m.index, a.compression, bad)
  const t = m.torrent as Record<string, unknown> | undefined
  if (typeof t !== 'object' || t === null) throw bad('torrent missing')
  if (typeof t.infoHash !== 'string' || !HEX40.test(t.infoHash))
    throw bad('torrent.infoHash must be 40 lowercase hex digits')
  if (!isCount(t.pieceLength) || t.pieceLength < 16384) throw bad('torrent.pieceLength too small')
  if (!isCount(t.pieces)) throw bad('torrent.pieces must be a count')
  const tr = m.tree as Record<string, unknown> | undefined
  if (typeof tr !== 'object' || tr === null || !isCount(tr.entries) || !isCount(tr.files) || !isCount(tr.bytes)) {
    throw bad('tree must hold entries, files and bytes counts')
  }
  return v as Manifest
}

/**
 * Verifies a signature over manifest bytes with a pinned public key, then
 * parses and validates the manifest. Nothing is trusted before the signature.
 */
export function verifyManifest(bytes: Buffer, sigJson: Buffer | string, pub: KeyObject, file: string): Manifest {
  let s: ManifestSignature
  try {
    s = JSON.parse(sigJson.toString()) as ManifestSignature
  } catch {
    throw errors.manifestSignature(file, 'the signature file is not valid JSON')
  }
  if (s?.alg !== 'ed25519' || typeof s.sig !== 'string')
    throw errors.manifestSignature(file, 'unsupported signature format')
  const expected = keyId(pub)
  if (s.keyId !== expected) {
    throw errors.manifestSignature(file, `signed by key ${String(s.keyId)}, but the pinned key is ${expected}`)
  }
  const sig = Buffer.from(s.sig, 'base64')
  if (sig.length !== 64 || !verify(null, bytes, pub, sig))
    throw errors.manifestSignature(file, 'the signature does not match')
  let parsed: unknown
  try {
    parsed = JSON.parse(bytes.toString('utf8'))
  } catch {
    throw errors.manifestInvalid(file, 'not valid JSON')
  }
  return validateManifest(parsed, file)
}
