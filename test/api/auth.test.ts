// Admin routes need the bearer token; the token file is private and stable.
import { chmod, readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { loadOrCreateAdminToken } from '../../seeder/api/index.ts'
import { tempDir } from '../support/tmp.ts'
import { bearer, fixture } from './helpers.ts'

const ADMIN_CALLS: { method: 'GET' | 'POST' | 'DELETE'; url: string; ok: number }[] = [
  { method: 'GET', url: '/api/v1/images', ok: 200 },
  { method: 'GET', url: '/api/v1/images/base', ok: 200 },
  { method: 'GET', url: '/api/v1/images/base/1', ok: 200 },
  { method: 'GET', url: '/api/v1/overrides', ok: 200 },
  { method: 'GET', url: '/api/v1/events', ok: 200 },
  { method: 'POST', url: '/api/v1/plans/reload', ok: 200 },
  { method: 'DELETE', url: '/api/v1/images/other/1', ok: 200 },
  { method: 'POST', url: '/api/v1/images/base/3/pack', ok: 200 },
  { method: 'POST', url: '/api/v1/overrides/site/pack', ok: 200 },
]

describe('admin token', () => {
  it('refuses admin calls without a token or with a wrong one, and accepts the right one', async () => {
    const packed: string[] = []
    const f = await fixture({
      init: {
        pack: async (kind, ref) => {
          packed.push(`${kind}:${ref}`)
          return { done: true }
        },
      },
    })
    for (const c of ADMIN_CALLS) {
      const none = await f.app.inject({ method: c.method, url: c.url })
      expect(none.statusCode, `${c.method} ${c.url} without token`).toBe(401)
      expect(none.json().error.code).toBe('IMGSWARM_ERR_UNAUTHORIZED')
      expect(none.headers['www-authenticate']).toMatch(/^Bearer/)
      for (const wrong of [
        `Bearer ${f.token}x`,
        `Bearer ${f.token.slice(1)}`,
        `Basic ${f.token}`,
        f.token,
        'Bearer ',
      ]) {
        const r = await f.app.inject({ method: c.method, url: c.url, headers: { authorization: wrong } })
        expect(r.statusCode, `${c.method} ${c.url} with ${wrong}`).toBe(401)
      }
      const ok = await f.app.inject({ method: c.method, url: c.url, headers: bearer(f.token) })
      expect(ok.statusCode, `${c.method} ${c.url}: ${ok.body}`).toBe(c.ok)
    }
    expect(packed).toEqual(['image:base@3', 'override:site'])
  })

  it('checks the token before the body: an unauthenticated bad request is a 401', async () => {
    const f = await fixture()
    const r = await f.app.inject({ method: 'GET', url: '/api/v1/events?limit=0' })
    expect(r.statusCode).toBe(401)
  })

  it('creates the token file once, mode 0600, and reads it back', async () => {
    const dir = await tempDir()
    const t1 = await loadOrCreateAdminToken(dir)
    const t2 = await loadOrCreateAdminToken(dir)
    expect(t1).toBe(t2)
    expect(t1.length).toBeGreaterThanOrEqual(40)
    const file = join(dir, 'keys', 'admin.token')
    expect((await stat(file)).mode & 0o777).toBe(0o600)
    expect((await readFile(file, 'utf8')).trim()).toBe(t1)
    // Concurrent first starts agree on one token.
    const dir2 = await tempDir()
    const all = await Promise.all([1, 2, 3, 4].map(() => loadOrCreateAdminToken(dir2)))
    expect(new Set(all).size).toBe(1)
  })

  it('refuses a token file other users can read, and a too short token', async () => {
    const dir = await tempDir()
    await loadOrCreateAdminToken(dir)
    const file = join(dir, 'keys', 'admin.token')
    await chmod(file, 0o644)
    await expect(loadOrCreateAdminToken(dir)).rejects.toMatchObject({ code: 'IMGSWARM_ERR_CONFIG' })
    await writeFile(file, 'short\n', { mode: 0o600 })
    await chmod(file, 0o600)
    await expect(loadOrCreateAdminToken(dir)).rejects.toThrow(/at least 16/)
  })
})
