// serve with serve.tls = "auto": its own CA (key 0600) signs a certificate
// for the public URL's host; a client pinning that CA gets answers, a client
// pinning another CA gets IMGSWARM_ERR_TLS_UNTRUSTED, and the first seeder
// announces to the HTTPS tracker with the same CA. Also an operator-supplied
// certificate ({ cert, key }), which needs no CA of serve's own.
import { X509Certificate } from 'node:crypto'
import { readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { parseTlsSetting } from '../../common/config-tls.ts'
import { loadCa, pinnedFetch } from '../../common/https.ts'
import { createCa, createServerCert, loadServerTls } from '../../seeder/tls/index.ts'
import { packedStore, type Running } from '../serve/harness.ts'
import { tempDir } from '../support/tmp.ts'
import { startTlsServe } from './harness.ts'

let running: Running | undefined
afterEach(async () => {
  await running?.stop()
  running = undefined
})

describe('serve.tls = "auto"', () => {
  it('makes a CA and a server certificate, and answers only clients that pin that CA', async () => {
    const dir = await tempDir()
    const { store } = await packedStore(dir, 1)
    const r = await startTlsServe(store)
    running = r
    expect(r.url).toMatch(/^https:/)
    expect((await stat(join(store.keysDir, 'ca.key'))).mode & 0o777).toBe(0o600)
    expect((await stat(join(store.keysDir, 'tls-server.key'))).mode & 0o777).toBe(0o600)
    const ca = loadCa(r.ca, 'test')
    const leaf = new X509Certificate(await readFile(join(store.keysDir, 'tls-server.pem')))
    expect(leaf.checkIssued(new X509Certificate(ca))).toBe(true)
    expect(leaf.checkIP('127.0.0.1')).toBe('127.0.0.1')
    expect(leaf.checkHost('localhost')).toBe('localhost')

    const ok = await pinnedFetch(ca)(`${r.url}/api/v1/health/ready`)
    expect(ok.status).toBe(200)

    // The default trust store (public roots) does not know our CA.
    await expect(fetch(`${r.url}/api/v1/health/ready`)).rejects.toThrow()
    // Another CA: the coded error, not a retryable network failure.
    const other = createCa('rogue CA')
    const err = await pinnedFetch(other.cert)(`${r.url}/api/v1/health/ready`).catch((e: unknown) => e)
    expect((err as { code?: string }).code).toBe('IMGSWARM_ERR_TLS_UNTRUSTED')
    expect((err as Error).message).toContain('not signed by the pinned CA')
    // Plain HTTP on the HTTPS port is not answered as HTTP.
    await expect(fetch(r.url.replace('https:', 'http:'))).rejects.toThrow()

    // The first seeder announces over HTTPS to the tracker in the API: it becomes ready.
    const deadline = Date.now() + 60_000
    let ready = false
    while (!ready && Date.now() < deadline) {
      ready = r.server.seeder.ready() && r.server.tracker.stats().seeders > 0
      if (!ready) await new Promise((res) => setTimeout(res, 200))
    }
    expect(ready).toBe(true)
  }, 90_000)

  it('keeps the CA across restarts and renews a server certificate that is about to expire', async () => {
    const dir = await tempDir()
    const keysDir = join(dir, 'keys')
    const setting = { mode: 'auto' as const, sans: [] }
    const a = await loadServerTls({ setting, keysDir, publicUrl: 'https://10.0.0.1:8470' })
    const b = await loadServerTls({ setting, keysDir, publicUrl: 'https://10.0.0.1:8470' })
    expect(b.ca).toBe(a.ca)
    expect(b.cert).toBe(a.cert)
    // 70 days later fewer than 30 days are left: a new certificate from the same CA.
    expect(await b.refresh(new Date(Date.now() + 70 * 86_400_000))).toBe(true)
    expect(b.cert).not.toBe(a.cert)
    expect(new X509Certificate(b.cert).checkIssued(new X509Certificate(a.ca as string))).toBe(true)
    expect(await b.refresh()).toBe(false)
    // A new name (serve.tls.sans) gets a new certificate at start.
    const c = await loadServerTls({
      setting: { mode: 'auto', sans: ['imgswarm.lab'] },
      keysDir,
      publicUrl: 'https://10.0.0.1:8470',
    })
    expect(new X509Certificate(c.cert).checkHost('imgswarm.lab')).toBe('imgswarm.lab')
  }, 60_000)

  it('serves an operator-supplied certificate: clients pinning the operator CA are answered, no CA is made', async () => {
    const dir = await tempDir()
    const { store } = await packedStore(dir, 1)
    const op = createCa('operator CA')
    const leafPem = createServerCert(op, ['127.0.0.1'])
    await writeFile(join(dir, 'op.pem'), leafPem.cert)
    await writeFile(join(dir, 'op.key'), leafPem.key, { mode: 0o600 })
    const r = await startTlsServe(store, {
      tls: { mode: 'files', cert: join(dir, 'op.pem'), key: join(dir, 'op.key'), sans: [] },
    })
    running = r
    expect((await pinnedFetch(op.cert)(`${r.url}/api/v1/health/ready`)).status).toBe(200)
    // serve's own CA is not made nor used for operator files.
    await expect(stat(join(store.keysDir, 'ca.key'))).rejects.toMatchObject({ code: 'ENOENT' })
    const err = await pinnedFetch(createCa('rogue CA').cert)(`${r.url}/api/v1/health/ready`).catch((e: unknown) => e)
    expect((err as { code?: string }).code).toBe('IMGSWARM_ERR_TLS_UNTRUSTED')
  }, 90_000)

  it('refuses bad settings and files with coded errors', async () => {
    const dir = await tempDir()
    expect(() => parseTlsSetting('f.toml', 'yes')).toThrow(/serve.tls must be/)
    expect(() => parseTlsSetting('f.toml', { cert: 'a.pem' })).toThrow(/both cert and key/)
    expect(() => parseTlsSetting('f.toml', { auto: true, sans: ['bad name!'] })).toThrow(/sans/)
    expect(parseTlsSetting('f.toml', 'off')).toBeUndefined()
    const setting = { mode: 'auto' as const, sans: [] }
    await expect(
      loadServerTls({ setting, keysDir: join(dir, 'k1'), publicUrl: 'http://10.0.0.1:8470' }),
    ).rejects.toMatchObject({ code: 'IMGSWARM_ERR_TLS_CONFIG' })
    // A CA key other users can read.
    await loadServerTls({ setting, keysDir: join(dir, 'k2'), publicUrl: 'https://h:1' })
    const { chmod } = await import('node:fs/promises')
    await chmod(join(dir, 'k2', 'ca.key'), 0o644)
    await expect(loadServerTls({ setting, keysDir: join(dir, 'k2'), publicUrl: 'https://h:1' })).rejects.toThrow(
      /other users can read/,
    )
    // Operator files: a key that does not match the certificate.
    const ca = createCa('op CA')
    const one = createServerCert(ca, ['h'])
    const two = createServerCert(ca, ['h'])
    await writeFile(join(dir, 'cert.pem'), one.cert)
    await writeFile(join(dir, 'key.pem'), two.key)
    await expect(
      loadServerTls({
        setting: { mode: 'files', cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem'), sans: [] },
        keysDir: join(dir, 'k3'),
        publicUrl: 'https://h:1',
      }),
    ).rejects.toThrow(/does not belong/)
  }, 60_000)
})
