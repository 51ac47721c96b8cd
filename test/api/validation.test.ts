// Request bodies that fail the schema are 400s naming the field; path
// parameters can never reach outside the store, however they are encoded.
import { request } from 'node:http'
import type { AddressInfo } from 'node:net'
import { describe, expect, it } from 'vitest'
import { bearer, fixture } from './helpers.ts'

const good = { node: 'node001', step: 'download', percent: 50 }

describe('request validation', () => {
  it('refuses event bodies that break the schema, naming the field', async () => {
    const f = await fixture()
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ ...good, percent: 150 }, 'body.percent', /percent.*<= 100/],
      [{ ...good, percent: -1 }, 'body.percent', /percent/],
      [{ ...good, step: 'dance' }, 'body.step', /step must be one of: config, disks/],
      [{ ...good, message: 'x'.repeat(4097) }, 'body.message', /message.*4096/],
      [{ ...good, hacker: true }, 'body.hacker', /unknown field "hacker"/],
      [{ step: 'done' }, 'body.node', /missing required field "node"/],
      [{ ...good, node: '../etc' }, 'body.node', /node/],
      [{ ...good, logTail: Array.from({ length: 51 }, () => 'line') }, 'body.logTail', /logTail/],
      [{ ...good, bytesDown: 'lots' }, 'body.bytesDown', /bytesDown/],
      [{ ...good, ts: 'yesterday' }, 'body.ts', /ts/],
    ]
    for (const [payload, field, msg] of cases) {
      const r = await f.app.inject({ method: 'POST', url: '/api/v1/events', payload })
      expect(r.statusCode, JSON.stringify(payload).slice(0, 80)).toBe(400)
      const e = r.json().error
      expect(e.code).toBe('IMGSWARM_ERR_INVALID_REQUEST')
      expect(e.field).toBe(field)
      expect(e.message).toMatch(msg)
    }
    // A message of exactly 4 KiB and 50 log lines are fine.
    const ok = await f.app.inject({
      method: 'POST',
      url: '/api/v1/events',
      payload: { ...good, message: 'x'.repeat(4096), logTail: Array.from({ length: 50 }, () => 'l') },
    })
    expect(ok.statusCode).toBe(202)
    expect(f.events.recent(10)).toHaveLength(1)
  })

  it('refuses bodies that are not JSON or too large', async () => {
    const f = await fixture({ init: { bodyLimit: 8192 } })
    const notJson = await f.app.inject({
      method: 'POST',
      url: '/api/v1/events',
      headers: { 'content-type': 'application/json' },
      payload: '{"node":',
    })
    expect(notJson.statusCode).toBe(400)
    expect(notJson.json().error.code).toBe('IMGSWARM_ERR_INVALID_REQUEST')
    const big = await f.app.inject({
      method: 'POST',
      url: '/api/v1/events',
      payload: { ...good, logTail: Array.from({ length: 20 }, () => 'y'.repeat(1000)) },
    })
    expect(big.statusCode).toBe(413)
    expect(big.json().error.code).toBe('IMGSWARM_ERR_BODY_TOO_LARGE')
  })

  it('refuses hostile path parameters (inject)', async () => {
    const f = await fixture()
    const hostile = [
      '%2e%2e',
      '..',
      '.',
      'a%2Fb',
      'a%2fb',
      '%2F',
      'a%00',
      '%00',
      '..%2F..%2Fkeys',
      '%252e%252e',
      'a%5Cb',
      '-x',
    ]
    for (const h of hostile) {
      for (const url of [
        `/api/v1/images/${h}/1/torrent`,
        `/api/v1/images/base/${h}/manifest`,
        `/api/v1/overrides/${h}/1/manifest.sig`,
        `/webseed/images/${h}`,
        `/webseed/images/${h}@1.tar`,
        `/webseed/images/base@${h}.tar`,
      ]) {
        for (const headers of [{}, bearer(f.token)]) {
          const r = await f.app.inject({ method: 'GET', url, headers })
          // inject() normalises dot segments like a browser: base/%2e%2e/manifest
          // becomes /api/v1/images/manifest, an admin listing (401 without the token).
          expect([400, 401, 404], `${url} -> ${r.statusCode} ${r.body}`).toContain(r.statusCode)
          expect(r.statusCode === 401 && 'authorization' in headers).toBe(false)
          expect(r.headers['content-type']).toMatch(/json/)
        }
      }
    }
    const del = await f.app.inject({ method: 'DELETE', url: '/api/v1/images/%2e%2e/1', headers: bearer(f.token) })
    expect([400, 404]).toContain(del.statusCode)
    expect(
      (await f.app.inject({ method: 'GET', url: '/api/v1/images/base', headers: bearer(f.token) })).statusCode,
    ).toBe(200)
  })

  it('refuses raw ../ paths over a real socket, never serving a file outside', async () => {
    const f = await fixture()
    await f.app.listen({ host: '127.0.0.1', port: 0 })
    const { port } = f.app.server.address() as AddressInfo
    // Raw paths: fetch() would normalise the dots away before sending.
    const raw = (path: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, path, method: 'GET' }, (res) => {
          let body = ''
          res.setEncoding('latin1')
          res.on('data', (c: string) => {
            body += c
          })
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
        })
        req.on('error', reject)
        req.end()
      })
    for (const path of [
      '/webseed/images/../../keys/admin.token',
      '/webseed/images/..%2F..%2Fkeys%2Fadmin.token',
      '/webseed/images/%2e%2e%2f%2e%2e%2fkeys%2fadmin.token',
      '/api/v1/images/../keys/admin.token/torrent',
      '/api/v1/images/..%2Fkeys/admin.token/manifest',
      '/api/v1/images/base/..%2F..%2F..%2Fkeys%2Fadmin/manifest',
      '/webseed/images/base@1.tar%00',
      '/webseed/images/base%00@1.tar',
      '/api/v1/images/%zz/1/torrent',
    ]) {
      const r = await raw(path)
      expect([400, 404], `${path} -> ${r.status}`).toContain(r.status)
      expect(r.body).not.toContain(f.token)
      expect(r.body).not.toContain('PRIVATE KEY')
      expect(() => JSON.parse(r.body)).not.toThrow()
    }
  })
})
