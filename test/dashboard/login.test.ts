// Dashboard login: token and password, the cookie's flags, logout, expiry,
// the per-address limit on failures, the CSRF rule, and AdminAuth taking
// the cookie as well as the bearer token.
import { chmod, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { SESSION_TTL_MS } from '../../seeder/api/session.ts'
import { readPasswordHash, setPassword } from '../../seeder/dashboard/index.ts'
import { bearer, type Fixture, fixture } from '../api/helpers.ts'

const PASSWORD = 'correct horse battery'

afterEach(() => {
  vi.useRealTimers()
})

async function login(f: Fixture, body: unknown, headers: Record<string, string> = {}) {
  return f.app.inject({
    method: 'POST',
    url: '/api/v1/login',
    headers: { 'content-type': 'application/json', ...headers },
    payload: JSON.stringify(body),
  })
}

function cookieOf(r: { headers: Record<string, unknown> }): string {
  const set = r.headers['set-cookie']
  const line = Array.isArray(set) ? String(set[0]) : String(set)
  const m = /^imgswarm_session=([^;]*)/.exec(line)
  if (!m) throw new Error(`no session cookie in ${line}`)
  return `imgswarm_session=${m[1]}`
}

describe('dashboard login', () => {
  it('logs in with the admin token; the cookie is HttpOnly, SameSite=Strict, Path=/ and lets admin reads through', async () => {
    const f = await fixture()
    const bad = await login(f, { token: `${f.token}x` })
    expect(bad.statusCode).toBe(401)
    expect(bad.json().error.code).toBe('IMGSWARM_ERR_LOGIN_REFUSED')
    expect(bad.headers['set-cookie']).toBeUndefined()

    const r = await login(f, { token: f.token })
    expect(r.statusCode, r.body).toBe(200)
    expect(r.json()).toMatchObject({ ok: true, authenticated: true, via: 'token' })
    const line = String(r.headers['set-cookie'])
    expect(line).toMatch(/^imgswarm_session=[A-Za-z0-9_-]{43}; /)
    expect(line).toContain('HttpOnly')
    expect(line).toContain('SameSite=Strict')
    expect(line).toContain('Path=/')
    expect(line).toContain(`Max-Age=${SESSION_TTL_MS / 1000}`)
    expect(line).not.toContain('Secure') // plain HTTP here
    expect(r.headers['cache-control']).toBe('no-store')

    const cookie = cookieOf(r)
    expect((await f.app.inject({ method: 'GET', url: '/api/v1/images' })).statusCode).toBe(401)
    const read = await f.app.inject({ method: 'GET', url: '/api/v1/images', headers: { cookie } })
    expect(read.statusCode, read.body).toBe(200)
    // Another cookie alongside ours is fine; a forged id is not.
    const both = await f.app.inject({
      method: 'GET',
      url: '/api/v1/images',
      headers: { cookie: `a=b; ${cookie}; c=d` },
    })
    expect(both.statusCode).toBe(200)
    const forged = `imgswarm_session=${'A'.repeat(43)}`
    expect((await f.app.inject({ method: 'GET', url: '/api/v1/images', headers: { cookie: forged } })).statusCode).toBe(
      401,
    )
    const s = await f.app.inject({ method: 'GET', url: '/api/v1/session', headers: { cookie } })
    expect(s.json()).toMatchObject({ authenticated: true, via: 'token', passwordSet: false })
    const b = await f.app.inject({ method: 'GET', url: '/api/v1/session', headers: bearer(f.token) })
    expect(b.json()).toMatchObject({ authenticated: true, via: 'bearer' })
  })

  it('sets the Secure flag when the request came over TLS (trusted proxy)', async () => {
    const f = await fixture({ init: { trustProxy: true } })
    const r = await login(f, { token: f.token }, { 'x-forwarded-proto': 'https' })
    expect(r.statusCode).toBe(200)
    expect(String(r.headers['set-cookie'])).toMatch(/; Secure$/)
  })

  it('logs in with the password set by the operator (scrypt hash, mode 0600), and refuses a readable hash file', async () => {
    const f = await fixture()
    const none = await login(f, { password: PASSWORD })
    expect(none.statusCode).toBe(401)
    expect(none.json().error.message).toMatch(/no dashboard password is set/)

    const file = await setPassword(f.store.root, PASSWORD)
    expect(file).toBe(join(f.store.root, 'keys', 'dashboard.pass'))
    expect((await stat(file)).mode & 0o777).toBe(0o600)
    expect((await readPasswordHash(f.store.root))?.N).toBe(1 << 15)
    await expect(setPassword(f.store.root, 'short')).rejects.toMatchObject({ code: 'IMGSWARM_ERR_PASSWORD' })

    expect((await login(f, { password: `${PASSWORD}!` })).statusCode).toBe(401)
    const r = await login(f, { password: PASSWORD })
    expect(r.statusCode, r.body).toBe(200)
    expect(r.json().via).toBe('password')
    const cookie = cookieOf(r)
    expect((await f.app.inject({ method: 'GET', url: '/api/v1/events', headers: { cookie } })).statusCode).toBe(200)

    await chmod(file, 0o644)
    const leaky = await login(f, { password: PASSWORD })
    expect(leaky.statusCode).toBe(422)
    expect(leaky.json().error.message).toMatch(/chmod 600/)
    // A hostile hash file (a huge scrypt cost) is refused, not computed.
    await writeFile(file, `scrypt$1073741824$8$1$${'A'.repeat(22)}$${'B'.repeat(43)}\n`, { mode: 0o600 })
    await chmod(file, 0o600)
    expect((await login(f, { password: PASSWORD })).statusCode).toBe(422)
  })

  it('refuses malformed login bodies', async () => {
    const f = await fixture()
    for (const body of [{}, { token: f.token, password: PASSWORD }, { user: 'admin' }, { token: '' }, []]) {
      const r = await login(f, body)
      expect(r.statusCode, JSON.stringify(body)).toBe(400)
    }
    const form = await f.app.inject({
      method: 'POST',
      url: '/api/v1/login',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: `token=${f.token}`,
    })
    expect(form.statusCode).toBe(415)
  })

  it('rate-limits failed logins per source address, even with the right secret afterwards', async () => {
    const f = await fixture()
    await setPassword(f.store.root, PASSWORD)
    for (let i = 0; i < 5; i++) expect((await login(f, { password: `wrong password ${i}` })).statusCode).toBe(401)
    const blocked = await login(f, { password: PASSWORD })
    expect(blocked.statusCode).toBe(429)
    expect(blocked.json().error.code).toBe('IMGSWARM_ERR_RATE_LIMITED')
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0)
    expect((await login(f, { token: f.token })).statusCode).toBe(429)
    // Another address is not affected.
    const other = await f.app.inject({
      method: 'POST',
      url: '/api/v1/login',
      remoteAddress: '10.1.2.3',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ token: f.token }),
    })
    expect(other.statusCode).toBe(200)
  })

  it('logs out: the session stops working and the cookie is cleared', async () => {
    const f = await fixture()
    const cookie = cookieOf(await login(f, { token: f.token }))
    const out = await f.app.inject({ method: 'POST', url: '/api/v1/logout', headers: { cookie } })
    expect(out.statusCode).toBe(200)
    expect(String(out.headers['set-cookie'])).toMatch(
      /^imgswarm_session=; Path=\/; Max-Age=0; HttpOnly; SameSite=Strict/,
    )
    expect((await f.app.inject({ method: 'GET', url: '/api/v1/images', headers: { cookie } })).statusCode).toBe(401)
  })

  it('expires sessions after 12 hours', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const f = await fixture()
    const cookie = cookieOf(await login(f, { token: f.token }))
    vi.setSystemTime(Date.now() + SESSION_TTL_MS - 60_000)
    expect((await f.app.inject({ method: 'GET', url: '/api/v1/images', headers: { cookie } })).statusCode).toBe(200)
    vi.setSystemTime(Date.now() + 120_000)
    const r = await f.app.inject({ method: 'GET', url: '/api/v1/images', headers: { cookie } })
    expect(r.statusCode).toBe(401)
    expect(r.json().error.code).toBe('IMGSWARM_ERR_UNAUTHORIZED')
  })

  it('refuses state changes on a session without a JSON body or the custom header, or from another origin (CSRF)', async () => {
    const f = await fixture()
    const cookie = cookieOf(await login(f, { token: f.token }))
    const reload = (headers: Record<string, string>, payload?: string) =>
      f.app.inject({ method: 'POST', url: '/api/v1/plans/reload', headers: { cookie, ...headers }, payload })
    // What a cross-site form can send: no custom header, a "simple" content type.
    const plain = await reload({ 'content-type': 'text/plain' }, 'x')
    expect(plain.statusCode).toBe(403)
    expect(plain.json().error.code).toBe('IMGSWARM_ERR_CSRF')
    expect((await reload({})).statusCode).toBe(403)
    expect((await reload({ 'content-type': 'application/json' }, '{}')).statusCode).toBe(200)
    expect((await reload({ 'x-imgswarm-request': '1' })).statusCode).toBe(200)
    const cross = await reload({ 'content-type': 'application/json', origin: 'http://evil.example' }, '{}')
    expect(cross.statusCode).toBe(403)
    expect((await reload({ 'content-type': 'application/json', origin: 'null' }, '{}')).statusCode).toBe(403)
    expect((await reload({ 'content-type': 'application/json', origin: 'http://localhost:80' }, '{}')).statusCode).toBe(
      200,
    )
    // The bearer token is not a browser credential: no CSRF rule for it.
    const b = await f.app.inject({ method: 'POST', url: '/api/v1/plans/reload', headers: bearer(f.token) })
    expect(b.statusCode).toBe(200)
    // Reads on a session need nothing more.
    expect((await f.app.inject({ method: 'GET', url: '/api/v1/images', headers: { cookie } })).statusCode).toBe(200)
  })
})
