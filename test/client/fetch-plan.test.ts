// fetchVerifiedPlan against a real `serve` on loopback with a packed image,
// the client pinning the store's own manifest-signing key.
import { generateKeyPairSync, type KeyObject } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { type ClientConfig, fetchVerifiedPlan, loadPubkey, resolveClientConfig } from '../../client/index.ts'
import { bencode } from '../../common/bencode.ts'
import { isImgswarmError } from '../../common/errors.ts'
import { PLAN_SIGNATURE_HEADER, signPlan } from '../../common/plan-signature.ts'
import type { Store } from '../../seeder/index.ts'
import { loadOrCreateSigningKey } from '../../seeder/store/keys.ts'
import { freePort, packedStore, type Running, startServe } from '../serve/harness.ts'
import { tempDir } from '../support/tmp.ts'

const running: Running[] = []
const aborts: AbortController[] = []
afterEach(async () => {
  for (const a of aborts.splice(0)) a.abort()
  for (const r of running.splice(0)) await r.stop()
})

async function serve(store: Store, extra: Parameters<typeof startServe>[1] = {}) {
  const r = await startServe(store, extra)
  running.push(r)
  return r
}

// A listed node that takes everything from [defaults]: serve gives nothing to unlisted nodes.
const PLANS = '[defaults]\nimage = "img"\npost = "none"\n\n[[node]]\nhostname = "node001"\n'

async function packed(dir: string) {
  const p = await packedStore(dir, 1)
  await writeFile(join(p.store.root, 'plans.toml'), PLANS)
  return p
}

function pinned(store: Store): KeyObject {
  return loadPubkey(join(store.root, 'keys', 'manifest-signing.pub'), 'test')
}

function config(server: string, pubkey: KeyObject, extra: Partial<ClientConfig> = {}): ClientConfig {
  return { server, pubkey, hostname: 'node001', debug: false, retry: { maxDelayMs: 200 }, warnings: [], ...extra }
}

function signal(): AbortSignal {
  const a = new AbortController()
  aborts.push(a)
  return a.signal
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p
  } catch (e) {
    return isImgswarmError(e) ? e.code : `not coded: ${String(e)}`
  }
  return 'resolved'
}

describe('fetchVerifiedPlan with a real serve', () => {
  it('fetches the default plan, verifies the manifest and checks the torrent', async () => {
    const dir = await tempDir()
    const p = await packed(dir)
    const r = await serve(p.store)
    const lines: string[] = []
    const v = await fetchVerifiedPlan(config(r.url, pinned(p.store)), {
      signal: signal(),
      onStatus: (m) => lines.push(m),
    })
    expect(v.plan.image).toMatchObject({ name: 'img', version: '1', sha256: p.manifestSha })
    expect(v.plan.post).toBe('none')
    expect(v.overrides).toEqual([])
    expect(v.image.manifest.archive.sha256).toBe(p.manifestSha)
    expect(v.image.torrentInfo.infoHash).toBe(v.image.manifest.torrent.infoHash)
    expect(v.image.torrentInfo.infoHash).toBe(v.plan.image.infoHash)
    // The served torrent points at this server, not at the announce it was packed with.
    expect(v.image.torrentInfo.announce).toEqual([`${r.url}/announce`])
    expect(v.image.webseedUrl).toBe(`${r.url}/webseed/images/${p.file}`)
    expect(lines.some((l) => l.includes('verified'))).toBe(true)
  })

  it('refuses a server signed by another key, before fetching the manifest or the torrent', async () => {
    const dir = await tempDir()
    const p = await packed(dir)
    const r = await serve(p.store)
    const seen: string[] = []
    const spy: typeof fetch = (input, init) => {
      seen.push(new URL(String(input)).pathname)
      return fetch(input, init)
    }
    const other = generateKeyPairSync('ed25519').publicKey
    const code = await codeOf(fetchVerifiedPlan(config(r.url, other), { signal: signal(), fetchImpl: spy }))
    // The plan's own signature fails first (docs/plan-signing.md): nothing it names is fetched.
    expect(code).toBe('IMGSWARM_ERR_PLAN_SIGNATURE')
    expect(seen.some((s) => s.endsWith('/torrent') || s.endsWith('/manifest'))).toBe(false)
  })

  it('refuses a manifest tampered with on the server', async () => {
    const dir = await tempDir()
    const p = await packed(dir)
    const file = `${join(p.store.packedDir('image'), 'img@1')}.manifest.json`
    const text = await readFile(file, 'utf8')
    // Still valid JSON, still a well-formed manifest: only the signature can tell.
    await writeFile(file, text.replace('"tree"', '"tree" '))
    const r = await serve(p.store)
    const code = await codeOf(fetchVerifiedPlan(config(r.url, pinned(p.store)), { signal: signal() }))
    expect(code).toBe('IMGSWARM_ERR_MANIFEST_SIGNATURE')
  })

  it('refuses a plan that names another image than the imgswarm.image pin', async () => {
    const dir = await tempDir()
    const p = await packed(dir)
    const r = await serve(p.store)
    const key = join(p.store.root, 'keys', 'manifest-signing.pub')
    const pinnedTo = (image: string) =>
      resolveClientConfig({
        flags: { pubkey: key, hostname: 'node001', retry: { maxDelayMs: 200 } },
        cmdline: `quiet imgswarm.server=${r.url} imgswarm.image=${image}`,
      })
    expect(await codeOf(fetchVerifiedPlan(pinnedTo('other'), { signal: signal() }))).toBe('IMGSWARM_ERR_IMAGE_PIN')
    expect(await codeOf(fetchVerifiedPlan(pinnedTo('img@2'), { signal: signal() }))).toBe('IMGSWARM_ERR_IMAGE_PIN')
    expect(await codeOf(fetchVerifiedPlan(pinnedTo('img@1'), { signal: signal() }))).toBe('resolved')
  })

  it('waits for a server that is not up yet, announcing each retry', async () => {
    const dir = await tempDir()
    const p = await packed(dir)
    const port = await freePort()
    const url = `http://127.0.0.1:${port}`
    const lines: string[] = []
    const pending = fetchVerifiedPlan(config(url, pinned(p.store)), {
      signal: signal(),
      onStatus: (m) => lines.push(m),
    })
    pending.catch(() => {}) // awaited below; this only keeps an early failure from going unhandled
    await new Promise((r) => setTimeout(r, 2000))
    await serve(p.store, { port, publicUrl: url })
    const v = await pending
    expect(v.image.manifest.archive.sha256).toBe(p.manifestSha)
    const retries = lines.filter((l) => l.includes('retrying'))
    expect(retries.length).toBeGreaterThanOrEqual(2)
    expect(retries[0]).toMatch(
      new RegExp(`^server 127\\.0\\.0\\.1:${port} unreachable \\(ECONNREFUSED\\), retrying in`),
    )
  })

  it('stops retrying when the signal aborts', async () => {
    const port = await freePort()
    const a = new AbortController()
    const key = generateKeyPairSync('ed25519').publicKey
    const pending = fetchVerifiedPlan(config(`http://127.0.0.1:${port}`, key), { signal: a.signal })
    setTimeout(() => a.abort(new Error('operator gave up')), 300)
    await expect(pending).rejects.toThrow('operator gave up')
  })

  it('answers 404 (no plan for this node) with a coded error, not endless retries', async () => {
    const dir = await tempDir()
    const p = await packedStore(dir, 1)
    await writeFile(join(p.store.root, 'plans.toml'), '[[node]]\nhostname = "someone-else"\nimage = "img"\n')
    const r = await serve(p.store)
    let err: unknown
    try {
      await fetchVerifiedPlan(config(r.url, pinned(p.store), { hostname: 'node7' }), { signal: signal() })
    } catch (e) {
      err = e
    }
    expect(isImgswarmError(err, 'IMGSWARM_ERR_NO_PLAN')).toBe(true)
    expect((err as Error).message).toContain('hostname node7')
    expect((err as { hint?: string }).hint).toContain('[[node]]')
  })

  it('answers 409 (the plan names an unknown image) with a coded error', async () => {
    const dir = await tempDir()
    const p = await packedStore(dir, 1)
    await writeFile(
      join(p.store.root, 'plans.toml'),
      '[defaults]\nimage = "img"\n[[node]]\nhostname = "n1"\nimage = "ghost"\n',
    )
    const r = await serve(p.store)
    const code = await codeOf(
      fetchVerifiedPlan(config(r.url, pinned(p.store), { hostname: 'n1' }), { signal: signal() }),
    )
    expect(code).toBe('IMGSWARM_ERR_PLAN_UNRESOLVED')
  })

  // A man in the middle (or a confused server) that rewrites answers: fetchImpl is the seam.
  // With `resign`, a rewritten plan is signed again with that key (a confused server that holds the key).
  function rewriting(path: RegExp, change: (body: Buffer) => Buffer, resign?: KeyObject): typeof fetch {
    return async (input, init) => {
      const res = await fetch(input, init)
      const url = new URL(String(input))
      if (!path.test(url.pathname)) return res
      const body = change(Buffer.from(await res.arrayBuffer()))
      const headers = new Headers(res.headers)
      if (resign) {
        const q = Object.fromEntries(url.searchParams)
        headers.set(PLAN_SIGNATURE_HEADER, signPlan(body, q, resign))
      }
      return new Response(new Uint8Array(body), { status: res.status, headers })
    }
  }

  it('refuses a plan whose hashes disagree with the signed manifest', async () => {
    const dir = await tempDir()
    const p = await packed(dir)
    const r = await serve(p.store)
    const key = (await loadOrCreateSigningKey(p.store.keysDir)).privateKey
    const fetchImpl = rewriting(
      /\/plan$/,
      (b) => {
        const plan = JSON.parse(b.toString())
        plan.image.sha256 = 'f'.repeat(64)
        return Buffer.from(JSON.stringify(plan))
      },
      key,
    )
    const code = await codeOf(fetchVerifiedPlan(config(r.url, pinned(p.store)), { signal: signal(), fetchImpl }))
    expect(code).toBe('IMGSWARM_ERR_PLAN_MISMATCH')
  })

  it('refuses a torrent whose info hash is not the signed one', async () => {
    const dir = await tempDir()
    const p = await packed(dir)
    const r = await serve(p.store)
    const fake = bencode({
      announce: 'http://evil/announce',
      info: { length: 1, name: p.file, 'piece length': 262144, pieces: Buffer.alloc(20) },
    })
    const fetchImpl = rewriting(/\/torrent$/, () => fake)
    const code = await codeOf(fetchVerifiedPlan(config(r.url, pinned(p.store)), { signal: signal(), fetchImpl }))
    expect(code).toBe('IMGSWARM_ERR_CHECKSUM')
  })
})
