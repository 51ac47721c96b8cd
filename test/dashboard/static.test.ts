// The dashboard's files: / redirects to /ui/, each file with its type, an
// ETag that revalidates, and a strict CSP; the HTML has no inline script.
import { readFile } from 'node:fs/promises'
import { describe, expect, it } from 'vitest'
import { CSP } from '../../seeder/dashboard/index.ts'
import { fixture } from '../api/helpers.ts'

describe('dashboard static files', () => {
  it('redirects / to /ui/ and serves the files with types, ETags and the security headers', async () => {
    const f = await fixture()
    const root = await f.app.inject({ method: 'GET', url: '/' })
    expect(root.statusCode).toBe(302)
    expect(root.headers.location).toBe('/ui/')
    const cases: [string, RegExp][] = [
      ['/ui/', /^text\/html; charset=utf-8$/],
      ['/ui/index.html', /^text\/html/],
      ['/ui/app.css', /^text\/css/],
      ['/ui/js/main.js', /^text\/javascript/],
      ['/ui/js/nodes.js', /^text\/javascript/],
      ['/ui/favicon.svg', /^image\/svg\+xml$/],
    ]
    for (const [url, type] of cases) {
      const r = await f.app.inject({ method: 'GET', url })
      expect(r.statusCode, url).toBe(200)
      expect(r.headers['content-type'], url).toMatch(type)
      expect(r.headers['content-security-policy'], url).toBe(CSP)
      expect(r.headers['x-content-type-options']).toBe('nosniff')
      expect(r.headers['x-frame-options']).toBe('DENY')
      expect(r.headers['cache-control']).toBe('no-cache')
      const etag = String(r.headers.etag)
      expect(etag).toMatch(/^"[A-Za-z0-9_-]{22}"$/)
      const again = await f.app.inject({ method: 'GET', url, headers: { 'if-none-match': etag } })
      expect(again.statusCode, url).toBe(304)
      expect(again.body).toBe('')
    }
    expect(CSP).toContain("script-src 'self'")
    expect(CSP).not.toContain('unsafe-inline')
    expect(CSP).toContain("frame-ancestors 'none'")
    for (const url of ['/ui/nothing.js', '/ui/../package.json', '/ui/%2e%2e/package.json', '/ui/js/../../login.ts']) {
      const r = await f.app.inject({ method: 'GET', url })
      expect(r.statusCode, url).toBe(404)
    }
  })

  it('ships HTML without inline scripts, styles or event handlers, and no outside URLs', async () => {
    const html = await readFile(new URL('../../seeder/dashboard/static/index.html', import.meta.url), 'utf8')
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/i)
    expect(html).not.toMatch(/<style/i)
    expect(html).not.toMatch(/\sstyle=/i)
    expect(html).not.toMatch(/\son[a-z]+=/i)
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//i)
  })
})
