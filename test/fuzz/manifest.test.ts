// The manifest parser: edited manifest bytes, signed with a test key so the
// edit reaches the parser behind the signature check (verifyManifest), field
// values replaced by anything, and hostile signature files.
import { generateKeyPairSync } from 'node:crypto'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { signManifest, validateManifest, verifyManifest } from '../../common/manifest.ts'
import { CLEAN, campaign, failures, parserVerdict } from './harness.ts'
import { mutatedBytes, NASTY } from './mutate.ts'

const SAMPLE = {
  schema: 'imgswarm/manifest@1',
  kind: 'image',
  name: 'base',
  version: '3',
  archive: { file: 'base@3.tar', size: 1048576, sha256: 'a'.repeat(64), compression: 'none' },
  index: { file: 'base@3.index.json', size: 4096, sha256: 'b'.repeat(64) },
  torrent: { infoHash: 'c'.repeat(40), pieceLength: 262144, pieces: 4 },
  tree: { entries: 10, files: 7, bytes: 1000000 },
  createdAt: '2026-12-02T08:00:00.000Z',
  packer: 'imgswarm 0.1.0',
}
const TOKENS = ['"index":null,', '"size":-1', '"x":1,', '"__proto__":{},', 'null', '{}', '[]', '"zstd"', '1e400']
const { privateKey, publicKey } = generateKeyPairSync('ed25519')

const PATHS = [[], ['archive'], ['index'], ['torrent'], ['tree']] as const
const KEYS = [...Object.keys(SAMPLE), 'file', 'size', 'sha256', 'compression', 'infoHash', 'pieceLength', 'pieces']
const fieldEdit = fc.record({
  path: fc.constantFrom(...PATHS),
  key: fc.constantFrom(...KEYS, '__proto__', 'constructor', 'extra'),
  value: fc.oneof(fc.anything({ maxDepth: 2 }), fc.constantFrom(...NASTY), fc.double(), fc.integer()),
  drop: fc.boolean(),
})

const input = fc.oneof(
  mutatedBytes([Buffer.from(JSON.stringify(SAMPLE, null, 2))], TOKENS).map((bytes) => ({ bytes, sig: undefined })),
  fc.array(fieldEdit, { minLength: 1, maxLength: 3 }).map((edits) => {
    const m = structuredClone(SAMPLE) as Record<string, unknown>
    for (const e of edits) {
      // An earlier edit may have replaced the parent (archive, index, ...) with
      // a primitive; the edit then lands on a detached object and is a no-op.
      const at = e.path.reduce<Record<string, unknown>>((o, k) => {
        const v = o[k]
        return (v !== null && typeof v === 'object' ? v : {}) as Record<string, unknown>
      }, m)
      if (e.drop) delete at[e.key]
      else Object.defineProperty(at, e.key, { value: e.value, enumerable: true, writable: true, configurable: true })
    }
    return { bytes: Buffer.from(JSON.stringify(m) ?? ''), sig: undefined }
  }),
  fc
    .oneof(
      fc.string({ maxLength: 200 }),
      fc.jsonValue().map((v) => JSON.stringify(v)),
    )
    .map((sig) => ({ bytes: Buffer.from(JSON.stringify(SAMPLE)), sig: Buffer.from(sig) })),
)

describe('fuzz: manifest', () => {
  it('edited and re-signed manifests, hostile signatures: parsed or IMGSWARM_ERR_*', async () => {
    const r = await campaign('manifest', input, async ({ bytes, sig }) => {
      const s = sig ?? Buffer.from(JSON.stringify(signManifest(bytes, privateKey)))
      const verified = await parserVerdict(() => verifyManifest(bytes, s, publicKey, 'fuzz.manifest.json'))
      if ((verified !== 'accepted' && verified !== 'refused') || sig !== undefined) return verified
      let parsed: unknown
      try {
        parsed = JSON.parse(bytes.toString())
      } catch {
        return verified
      }
      const validated = await parserVerdict(() => validateManifest(parsed, 'fuzz.manifest.json'))
      return validated === verified ? verified : `verifyManifest said ${verified}, validateManifest ${validated}`
    })
    expect(failures(r)).toEqual(CLEAN)
    expect(r.accepted).toBeGreaterThan(0)
    expect(r.refused).toBeGreaterThan(0)
  })
})
