// validatePlan: the plan is hostile input to the client. One test per way a
// plan can be wrong, a property test that nothing but coded errors escape,
// and a tiny hostile HTTP server that fetchVerifiedPlan must refuse.
import { generateKeyPairSync } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import fc from 'fast-check'
import { afterEach, describe, expect, it } from 'vitest'
import { type ClientConfig, fetchVerifiedPlan } from '../../client/index.ts'
import { ImgswarmError, isImgswarmError } from '../../common/errors.ts'
import { validatePlan } from '../../common/plan.ts'
import { PLAN_SIGNATURE_HEADER, signPlan } from '../../common/plan-signature.ts'
import { RUNS } from '../support/fuzz.ts'

// biome-ignore lint/suspicious/noExplicitAny: the tests break plans in arbitrary ways
type Json = Record<string, any>

function artifact(name = 'base', version = '3') {
  return {
    name,
    version,
    infoHash: 'a'.repeat(40),
    torrent: `/api/v1/images/${name}/${version}/torrent`,
    manifest: `/api/v1/images/${name}/${version}/manifest`,
    signature: `/api/v1/images/${name}/${version}/manifest.sig`,
    webseed: `/webseed/images/${name}@${version}.tar.zst`,
    size: 201218,
    sha256: 'b'.repeat(64),
    compression: 'zstd',
    index: null,
  }
}

const GOOD_DISK = {
  table: 'gpt',
  partition: [
    { label: 'esp', size: '512MiB', fs: 'vfat', mount: '/boot/efi', flags: ['esp'] },
    { label: 'root', size: 'grow', fs: 'ext4', mount: '/', mkfs_options: ['-O', '^metadata_csum_seed'] },
  ],
}

function goodPlan(): Record<string, unknown> {
  return {
    apiVersion: 1,
    node: { hostname: 'node001', mac: '52:54:00:12:34:56', ip: '10.0.0.11' },
    image: artifact(),
    overrides: [artifact('site', '1')],
    post: 'reboot',
    disk: null,
  }
}

function refusal(mutate: (p: Json) => void): { code?: string; message: string } {
  const p = goodPlan() as Json
  mutate(p)
  try {
    validatePlan(JSON.parse(JSON.stringify(p)))
  } catch (e) {
    if (!isImgswarmError(e)) throw e
    return { code: e.code, message: e.message }
  }
  return { message: 'accepted' }
}

describe('validatePlan', () => {
  it('accepts the documented example and returns a copy', () => {
    const p = goodPlan()
    const v = validatePlan(p)
    expect(v).toEqual(p)
    expect(v.image).not.toBe(p.image)
  })

  it.each<[string, (p: Json) => void, string]>([
    ['apiVersion 2', (p) => (p.apiVersion = 2), 'apiVersion'],
    ['apiVersion "1"', (p) => (p.apiVersion = '1'), 'apiVersion'],
    ['an unknown top-level field', (p) => (p.exec = 'rm -rf /'), 'exec'],
    ['an unknown artifact field', (p) => (p.image.url = 'http://evil/'), 'image.url'],
    ['an unknown node field', (p) => (p.node.role = 'x'), 'node.role'],
    ['a missing field', (p) => delete p.post, 'post'],
    ['a name breaking the rule', (p) => (p.image.name = '../etc'), 'image.name'],
    ['a bad version', (p) => (p.overrides[0].version = ''), 'overrides[0].version'],
    ['.. in a URL', (p) => (p.image.torrent = '/api/v1/images/../../../etc/passwd'), 'image.torrent'],
    ['an absolute URL', (p) => (p.image.manifest = 'http://evil.example/m'), 'image.manifest'],
    ['a protocol-relative URL', (p) => (p.image.webseed = '//evil.example/x'), 'image.webseed'],
    ['a path outside the API', (p) => (p.image.signature = '/etc/passwd'), 'image.signature'],
    ['percent-encoding', (p) => (p.image.torrent = '/api/v1/images/%2e%2e/x'), 'image.torrent'],
    ['an empty segment', (p) => (p.image.torrent = '/api/v1//x'), 'image.torrent'],
    ['a short infoHash', (p) => (p.image.infoHash = 'abc'), 'image.infoHash'],
    ['an upper-case sha256', (p) => (p.image.sha256 = 'B'.repeat(64)), 'image.sha256'],
    ['a negative size', (p) => (p.image.size = -1), 'image.size'],
    ['a fractional size', (p) => (p.image.size = 1.5), 'image.size'],
    ['an unsafe size', (p) => (p.image.size = 2 ** 60), 'image.size'],
    ['an unknown compression', (p) => (p.image.compression = 'gzip'), 'image.compression'],
    ['an unknown post-action', (p) => (p.post = 'format-everything'), 'post'],
    ['an empty disk layout', (p) => (p.disk = {}), 'disk'],
    ['a disk layout as TOML text', (p) => (p.disk = 'table = "gpt"'), 'disk'],
    ['a disk layout with an unknown key', (p) => (p.disk = { ...GOOD_DISK, wipe: 'all' }), 'disk'],
    [
      'a disk layout with a bad size',
      (p) => (p.disk = { table: 'gpt', partition: [{ label: 'r', size: '1.5GiB', fs: 'ext4', mount: '/' }] }),
      'disk',
    ],
    [
      'a disk layout with two roots',
      (p) =>
        (p.disk = {
          table: 'msdos',
          partition: [
            { label: 'a', size: '1GiB', fs: 'ext4', mount: '/' },
            { label: 'b', size: 'grow', fs: 'xfs', mount: '/' },
          ],
        }),
      'disk',
    ],
    ['an index URL outside the API', (p) => (p.image.index = '/etc/passwd'), 'image.index'],
    ['an index URL with ..', (p) => (p.image.index = '/api/v1/images/../x/index'), 'image.index'],
    ['an index for a compressed archive', (p) => (p.image.index = '/api/v1/images/base/3/index'), 'image.index'],
    ['an index that is not a string', (p) => (p.image.index = 5), 'image.index'],
    ['a missing index', (p) => delete p.overrides[0].index, 'overrides[0].index'],
    ['overrides not an array', (p) => (p.overrides = {}), 'overrides'],
    ['a control character in the node', (p) => (p.node.hostname = 'a\nb'), 'node.hostname'],
    ['a __proto__ key', (p) => Object.defineProperty(p, '__proto__', { value: 1, enumerable: true }), '__proto__'],
  ])('refuses %s, naming the field', (_what, mutate, field) => {
    const r = refusal(mutate)
    expect(r.code).toBe('IMGSWARM_ERR_PLAN_INVALID')
    expect(r.message).toContain(`${field}:`)
  })

  it('accepts a disk layout and an index URL, and returns canonical copies', () => {
    const p = goodPlan() as Json
    p.disk = { ...GOOD_DISK, partition: [{ ...GOOD_DISK.partition[0], flags: ['esp'] }, GOOD_DISK.partition[1]] }
    p.image = { ...p.image, compression: 'none', index: '/api/v1/images/base/3/index' }
    const v = validatePlan(JSON.parse(JSON.stringify(p)))
    expect(v.disk).toEqual(GOOD_DISK)
    expect(v.image.index).toBe('/api/v1/images/base/3/index')
    // The disk is rebuilt from the parsed layout, not handed on from the JSON.
    expect(v.disk).not.toBe(p.disk)
  })

  it('refuses non-objects', () => {
    for (const v of [null, 1, 'plan', [], undefined]) {
      expect(() => validatePlan(v)).toThrow(expect.objectContaining({ code: 'IMGSWARM_ERR_PLAN_INVALID' }))
    }
  })

  it('throws only coded errors on arbitrary JSON', () => {
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), fc.constant(goodPlan())), (v) => {
        try {
          validatePlan(v)
        } catch (e) {
          expect(e).toBeInstanceOf(ImgswarmError)
        }
      }),
      { numRuns: RUNS },
    )
  })
})

const servers: Server[] = []
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r))
})

// The hostile server holds the key the client pins: its plans pass the signature and must fail validation.
const KEY = generateKeyPairSync('ed25519')

function signed(req: IncomingMessage, text: string): Record<string, string> {
  const nonce = new URL(req.url ?? '/', 'http://x').searchParams.get('nonce') ?? undefined
  return { [PLAN_SIGNATURE_HEADER]: signPlan(Buffer.from(text), { nonce }, KEY.privateKey) }
}

async function hostile(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<ClientConfig> {
  const s = createServer(handler)
  servers.push(s)
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
  return {
    server: `http://127.0.0.1:${(s.address() as AddressInfo).port}`,
    pubkey: KEY.publicKey,
    debug: false,
    retry: { attempts: 2, maxDelayMs: 20 },
    warnings: [],
  }
}

function json(body: unknown, status = 200) {
  return (req: IncomingMessage, res: ServerResponse) => {
    const text = JSON.stringify(body)
    res.writeHead(status, { 'content-type': 'application/json', ...signed(req, text) }).end(text)
  }
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p
  } catch (e) {
    return isImgswarmError(e) ? e.code : `not coded: ${String(e)}`
  }
  return 'resolved'
}

describe('fetchVerifiedPlan against a hostile server', () => {
  it('refuses a huge body without buffering it', async () => {
    let sent = 0
    const cfg = await hostile((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      const chunk = Buffer.alloc(64 * 1024, 0x20)
      const pump = () => {
        while (sent < 64 * 1024 * 1024 && res.write(chunk)) sent += chunk.length
        if (sent < 64 * 1024 * 1024) res.once('drain', pump)
        else res.end()
      }
      res.on('error', () => {})
      pump()
    })
    expect(await codeOf(fetchVerifiedPlan(cfg))).toBe('IMGSWARM_ERR_BAD_RESPONSE')
    expect(sent).toBeLessThan(32 * 1024 * 1024)
  })

  it('refuses a declared huge body', async () => {
    const cfg = await hostile((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(2 ** 30) })
      res.on('error', () => {})
      res.write('{')
    })
    expect(await codeOf(fetchVerifiedPlan(cfg))).toBe('IMGSWARM_ERR_BAD_RESPONSE')
  })

  it('refuses a wrong content type', async () => {
    const cfg = await hostile((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html>'))
    expect(await codeOf(fetchVerifiedPlan(cfg))).toBe('IMGSWARM_ERR_BAD_RESPONSE')
  })

  it('refuses broken JSON', async () => {
    const cfg = await hostile((req, res) =>
      res.writeHead(200, { 'content-type': 'application/json', ...signed(req, '{"a":') }).end('{"a":'),
    )
    expect(await codeOf(fetchVerifiedPlan(cfg))).toBe('IMGSWARM_ERR_PLAN_INVALID')
  })

  it.each<[string, (p: Json) => void]>([
    ['.. in paths', (p) => (p.image.manifest = '/api/v1/images/../../../../etc/shadow')],
    ['wrong apiVersion', (p) => (p.apiVersion = 2)],
    ['extra fields', (p) => (p.image.exec = '/bin/sh')],
    ['an absolute URL to another host', (p) => (p.image.torrent = 'http://evil.example/x.torrent')],
  ])('refuses a plan with %s before fetching anything it names', async (_what, mutate) => {
    const paths: string[] = []
    const p = goodPlan() as Json
    mutate(p)
    const cfg = await hostile((req, res) => {
      paths.push((req.url ?? '').split('?')[0] ?? '')
      json(p)(req, res)
    })
    expect(await codeOf(fetchVerifiedPlan(cfg))).toBe('IMGSWARM_ERR_PLAN_INVALID')
    expect(paths).toEqual(['/api/v1/plan'])
  })

  it('does not follow redirects', async () => {
    let calls = 0
    const cfg = await hostile((_req, res) => {
      calls++
      res.writeHead(302, { location: '/api/v1/plan?again' }).end()
    })
    expect(await codeOf(fetchVerifiedPlan(cfg))).toBe('IMGSWARM_ERR_BAD_RESPONSE')
    expect(calls).toBe(1)
  })

  it('gives up after retry.attempts on 5xx, with a status line per retry', async () => {
    const lines: string[] = []
    const cfg = await hostile(json({ error: { code: 'X', message: 'boom' } }, 503))
    expect(await codeOf(fetchVerifiedPlan(cfg, { onStatus: (m) => lines.push(m) }))).toBe('IMGSWARM_ERR_UNREACHABLE')
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(/^server 127\.0\.0\.1:\d+ answered 503 \(not ready\), retrying in 0(\.\d)? s/)
  })

  it('reports a 400 plainly, without retrying', async () => {
    let calls = 0
    const cfg = await hostile((req, res) => {
      calls++
      json({ error: { code: 'IMGSWARM_ERR_INVALID_REQUEST', message: 'querystring.mac bad' } }, 400)(req, res)
    })
    expect(await codeOf(fetchVerifiedPlan(cfg))).toBe('IMGSWARM_ERR_BAD_RESPONSE')
    expect(calls).toBe(1)
  })
})
