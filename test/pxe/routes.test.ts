// The boot routes on the real API (createApi on a temp store, fastify inject):
// per-MAC iPXE scripts, strict MAC checks, the installer files with ranges.
import { createHash, createPublicKey, randomBytes } from 'node:crypto'
import { mkdir, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import Fastify, { type FastifyInstance } from 'fastify'
import { afterEach, describe, expect, it } from 'vitest'
import { createApi, filePlanSource, loadOrCreateAdminToken, memoryEventSink } from '../../seeder/api/index.ts'
import { type BootDecider, registerBootRoutes } from '../../seeder/boot/index.ts'
import { Store } from '../../seeder/index.ts'
import { loadOrCreateSigningKey } from '../../seeder/store/keys.ts'
import { tempDir } from '../support/tmp.ts'

const URL = 'http://10.9.8.7:8470'
const apps: FastifyInstance[] = []
afterEach(async () => {
  while (apps.length > 0) await (apps.pop() as FastifyInstance).close()
})

async function setup(o: { build?: unknown; files?: boolean } = {}) {
  const dir = await tempDir('imgswarm-boot-routes-')
  const store = new Store(join(dir, 'store'))
  await mkdir(store.root, { recursive: true })
  const key = await loadOrCreateSigningKey(store.keysDir)
  const boot = join(store.root, 'boot')
  await mkdir(boot, { recursive: true })
  const kernel = randomBytes(300_000)
  const initramfs = randomBytes(1_000_001)
  if (o.files !== false) {
    await writeFile(join(boot, 'kernel'), kernel)
    await writeFile(join(boot, 'initramfs'), initramfs)
  }
  if (o.build !== undefined) await writeFile(join(boot, 'build.json'), JSON.stringify(o.build))
  await writeFile(join(dir, 'plans.toml'), '')
  const app = await createApi({
    store,
    adminToken: await loadOrCreateAdminToken(store.root),
    plans: await filePlanSource(join(dir, 'plans.toml')),
    events: memoryEventSink({ file: join(dir, 'events.jsonl') }),
    publicUrl: `${URL}/`,
  })
  apps.push(app)
  const der = createPublicKey(key.publicPem).export({ format: 'der', type: 'spki' })
  return { dir, store, app, kernel, initramfs, rawKey: der.subarray(der.length - 32).toString('base64') }
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex')

describe('GET /api/v1/boot/ipxe', () => {
  it("without a MAC: the entry script, which chains with the booting NIC's MAC", async () => {
    const { app } = await setup()
    const r = await app.inject({ url: '/api/v1/boot/ipxe' })
    expect(r.statusCode).toBe(200)
    expect(r.headers['content-type']).toMatch(/^text\/plain/)
    expect(r.body.startsWith('#!ipxe\n')).toBe(true)
    expect(r.body).toContain(`chain --autofree ${URL}/api/v1/boot/ipxe?mac=\${netX/mac} || goto failed`)
  })

  it('an unknown MAC boots from its local disk (no fleet database: everyone does), in the query or the path, any spelling', async () => {
    const { app } = await setup()
    for (const url of [
      '/api/v1/boot/ipxe?mac=52:54:00:12:34:56',
      '/api/v1/boot/ipxe?mac=52-54-00-12-34-56',
      '/api/v1/boot/ipxe/525400123456',
      '/api/v1/boot/ipxe/52:54:00:12:34:56',
    ]) {
      const r = await app.inject({ url })
      expect(r.statusCode, url).toBe(200)
      expect(r.body).toContain('52:54:00:12:34:56: no reimage requested, booting from the local disk')
      expect(r.body.trimEnd().endsWith('exit')).toBe(true)
      expect(r.body).not.toContain('kernel')
    }
  })

  it('refuses hostile or malformed MACs and unknown query fields with 400, and never echoes them into a script', async () => {
    const { app } = await setup()
    const bad = [
      '/api/v1/boot/ipxe?mac=52:54:00:12:34:5g',
      '/api/v1/boot/ipxe?mac=../../../etc/passwd',
      '/api/v1/boot/ipxe?mac=52:54:00:12:34:56%0aexit',
      `/api/v1/boot/ipxe?mac=${'a'.repeat(5000)}`,
      '/api/v1/boot/ipxe?mac=52:54:00:12:34',
      '/api/v1/boot/ipxe?mac=52:54-00:12:34:56',
      '/api/v1/boot/ipxe?mac=$' + '{net0/mac}',
      '/api/v1/boot/ipxe?mac=52:54:00:12:34:56&shell=1',
      '/api/v1/boot/ipxe/..%2f..%2fetc',
      '/api/v1/boot/ipxe/52:54:00:12:34:56?x=1',
    ]
    for (const url of bad) {
      const r = await app.inject({ url })
      expect(r.statusCode, url).toBe(400)
      expect(r.body.startsWith('#!ipxe'), url).toBe(false)
      expect(JSON.parse(r.body).error.code, url).toMatch(/^IMGSWARM_ERR_/)
    }
  })
})

describe('the installer files', () => {
  it('serve kernel and initramfs whole, by range and as HEAD, with their SHA-256', async () => {
    const { app, kernel, initramfs } = await setup()
    const k = await app.inject({ url: '/api/v1/boot/kernel' })
    expect(k.statusCode).toBe(200)
    expect(k.rawPayload.equals(kernel)).toBe(true)
    expect(k.headers['content-length']).toBe(String(kernel.length))
    expect(k.headers['x-imgswarm-sha256']).toBe(sha(kernel))
    expect(k.headers['accept-ranges']).toBe('bytes')
    const part = await app.inject({ url: '/api/v1/boot/initramfs', headers: { range: 'bytes=1000-1999' } })
    expect(part.statusCode).toBe(206)
    expect(part.headers['content-range']).toBe(`bytes 1000-1999/${initramfs.length}`)
    expect(part.rawPayload.equals(initramfs.subarray(1000, 2000))).toBe(true)
    const tail = await app.inject({ url: '/api/v1/boot/initramfs', headers: { range: 'bytes=-10' } })
    expect(tail.rawPayload.equals(initramfs.subarray(initramfs.length - 10))).toBe(true)
    const head = await app.inject({ method: 'HEAD', url: '/api/v1/boot/initramfs' })
    expect(head.statusCode).toBe(200)
    expect(head.headers['content-length']).toBe(String(initramfs.length))
    expect(head.rawPayload.length).toBe(0)
    const out = await app.inject({ url: '/api/v1/boot/kernel', headers: { range: `bytes=${kernel.length}-` } })
    expect(out.statusCode).toBe(416)
    expect(out.headers['content-range']).toBe(`bytes */${kernel.length}`)
    // A stale If-Range gets the whole file, not a piece of another build.
    const stale = await app.inject({ url: '/api/v1/boot/kernel', headers: { range: 'bytes=0-9', 'if-range': '"00"' } })
    expect(stale.statusCode).toBe(200)
  })

  it('a rebuilt file is hashed again', async () => {
    const { app, store } = await setup()
    const next = randomBytes(4096)
    await writeFile(join(store.root, 'boot', 'kernel.new'), next)
    await rename(join(store.root, 'boot', 'kernel.new'), join(store.root, 'boot', 'kernel'))
    const info = (await app.inject({ url: '/api/v1/boot/info' })).json()
    expect(info.kernel).toEqual({ size: 4096, sha256: sha(next) })
  })

  it('without a build: 404 that says to run boot build; info says null', async () => {
    const { app } = await setup({ files: false })
    const r = await app.inject({ url: '/api/v1/boot/kernel' })
    expect(r.statusCode).toBe(404)
    expect(r.json().error.hint).toContain('imgswarm boot build')
    const info = (await app.inject({ url: '/api/v1/boot/info' })).json()
    expect(info.kernel).toBeNull()
    expect(info.initramfs).toBeNull()
  })

  it('info: sizes, hashes and the command line, with the pinned key unless the initramfs carries one', async () => {
    const a = await setup()
    const info = (await a.app.inject({ url: '/api/v1/boot/info?mac=52-54-00-AA-BB-CC' })).json()
    expect(info.kernel).toEqual({ size: a.kernel.length, sha256: sha(a.kernel) })
    expect(info.initramfs).toEqual({ size: a.initramfs.length, sha256: sha(a.initramfs) })
    expect(info.cmdline).toBe(
      `imgswarm.server=${URL} imgswarm.mac=52:54:00:aa:bb:cc imgswarm.pubkey=${a.rawKey} console=tty0 console=ttyS0,115200`,
    )
    const b = await setup({ build: { pubkey: '/etc/imgswarm/server.pub', cmdline: 'quiet loglevel=3' } })
    const info2 = (await b.app.inject({ url: '/api/v1/boot/info' })).json()
    expect(info2.cmdline).toBe(`imgswarm.server=${URL} console=tty0 console=ttyS0,115200 quiet loglevel=3`)
    // A build.json command line with script syntax in it is not passed on.
    const c = await setup({ build: { pubkey: 'x', cmdline: 'a=$' + '{x} "b"' } })
    expect((await c.app.inject({ url: '/api/v1/boot/info' })).json().cmdline).toBe(
      `imgswarm.server=${URL} console=tty0 console=ttyS0,115200`,
    )
    expect((await c.app.inject({ url: '/api/v1/boot/info?mac=zz' })).statusCode).toBe(400)
  })
})

describe('the reimage script', () => {
  // The script's shape with a minimal decider (a set of MACs): the real
  // fleet database behind the real API is in decision.test.ts.
  it("loads kernel and initramfs over HTTP with the node's command line, only for the MAC asked for", async () => {
    const { store } = await setup()
    const asked = new Set(['52:54:00:00:00:01'])
    const seen: string[] = []
    const decider: BootDecider = {
      bootAction(mac, ip) {
        seen.push(`${mac} ${ip}`)
        return asked.has(mac) ? 'reimage' : 'local'
      },
    }
    const app = Fastify()
    apps.push(app)
    registerBootRoutes(app, {
      dir: join(store.root, 'boot'),
      keysDir: store.keysDir,
      publicUrl: URL,
      fleet: () => decider,
    })
    const r = await app.inject({ url: '/api/v1/boot/ipxe?mac=52:54:00:00:00:01' })
    expect(r.statusCode).toBe(200)
    const lines = r.body.split('\n')
    expect(lines[0]).toBe('#!ipxe')
    const kernelLine = lines.find((l) => l.startsWith('kernel ')) as string
    expect(kernelLine).toMatch(
      new RegExp(
        `^kernel --name kernel ${URL}/api/v1/boot/kernel initrd=initramfs imgswarm\\.server=${URL} imgswarm\\.mac=52:54:00:00:00:01 imgswarm\\.pubkey=\\S+ console=tty0 console=ttyS0,115200 \\|\\| goto retry$`,
      ),
    )
    expect(lines).toContain(`initrd --name initramfs ${URL}/api/v1/boot/initramfs || goto retry`)
    expect(lines).toContain('boot || goto retry')
    const other = await app.inject({ url: '/api/v1/boot/ipxe/52:54:00:00:00:02' })
    expect(other.body).toContain('booting from the local disk')
    expect(seen).toEqual(['52:54:00:00:00:01 127.0.0.1', '52:54:00:00:00:02 127.0.0.1'])
  })

  it('refuses a public URL that iPXE would misread', async () => {
    const app = Fastify()
    apps.push(app)
    const dir = await tempDir('imgswarm-boot-url-')
    expect(() =>
      registerBootRoutes(app, { dir, keysDir: dir, publicUrl: 'http://x/$' + '{evil}', fleet: () => undefined }),
    ).toThrow(/iPXE script/)
  })
})
