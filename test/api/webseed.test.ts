// The BEP 19 web seed over a real socket: whole files, ranges, validators.
import { readFile } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ifRangeMatches, parseArchiveName, parseRange } from '../../seeder/webseed/index.ts'
import { RUNS } from '../support/fuzz.ts'
import { bearer, fixture } from './helpers.ts'

async function served() {
  const f = await fixture()
  await f.app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = f.app.server.address() as AddressInfo
  const base = `http://127.0.0.1:${port}`
  const info = f.packed['base@1']?.info
  if (!info) throw new Error('fixture')
  const bytes = await readFile(info.archive)
  return { f, base, info, bytes, url: `${base}/webseed/images/base@1.tar` }
}

describe('web seed over HTTP', () => {
  it('serves the whole archive, ranges, suffixes, and 416 past the end', async () => {
    const { url, bytes, info, base } = await served()
    const size = bytes.length
    const full = await fetch(url)
    expect(full.status).toBe(200)
    expect(full.headers.get('accept-ranges')).toBe('bytes')
    expect(full.headers.get('content-length')).toBe(String(size))
    expect(full.headers.get('etag')).toBe(`"${info.manifest.archive.sha256}"`)
    expect(full.headers.get('last-modified')).toMatch(/GMT$/)
    expect(Buffer.from(await full.arrayBuffer()).equals(bytes)).toBe(true)

    const cases: [string, number, number][] = [
      ['bytes=0-0', 0, 0],
      ['bytes=100-16483', 100, 16483],
      [`bytes=${size - 10}-`, size - 10, size - 1],
      [`bytes=1000-${size + 5000}`, 1000, size - 1],
      ['bytes=-500', size - 500, size - 1],
      [`bytes=-${size * 2}`, 0, size - 1],
      ['bytes=10-19, 50-59', 10, 19],
    ]
    for (const [range, start, end] of cases) {
      const r = await fetch(url, { headers: { range } })
      expect(r.status, range).toBe(206)
      expect(r.headers.get('content-range')).toBe(`bytes ${start}-${end}/${size}`)
      expect(r.headers.get('content-length')).toBe(String(end - start + 1))
      expect(Buffer.from(await r.arrayBuffer()).equals(bytes.subarray(start, end + 1)), range).toBe(true)
    }
    for (const range of [`bytes=${size}-`, `bytes=${size + 1}-${size + 9}`, 'bytes=-0']) {
      const r = await fetch(url, { headers: { range } })
      expect(r.status, range).toBe(416)
      expect(r.headers.get('content-range')).toBe(`bytes */${size}`)
      await r.arrayBuffer()
    }
    // Malformed ranges and other units are ignored: the whole file.
    for (const range of ['bytes=9-3', 'items=0-1', 'bytes=a-b', 'bytes=']) {
      const r = await fetch(url, { headers: { range } })
      expect(r.status, range).toBe(200)
      expect((await r.arrayBuffer()).byteLength).toBe(size)
    }
    // The zstd archive under its own name; the wrong suffix is a 404.
    const zst = await fetch(`${base}/webseed/images/base@2.tar.zst`, { headers: { range: 'bytes=0-3' } })
    expect(zst.status).toBe(206)
    expect(Buffer.from(await zst.arrayBuffer())).toEqual(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]))
    expect((await fetch(`${base}/webseed/images/base@2.tar`)).status).toBe(404)
    expect((await fetch(`${base}/webseed/overrides/site@1.tar`, { headers: { range: 'bytes=0-9' } })).status).toBe(206)
  })

  it('honours If-Range: a matching ETag or date gives the range, anything else the whole file', async () => {
    const { url, bytes, info } = await served()
    const head = await fetch(url, { method: 'HEAD' })
    const lastModified = head.headers.get('last-modified') as string
    const etag = `"${info.manifest.archive.sha256}"`
    for (const ifRange of [etag, lastModified]) {
      const r = await fetch(url, { headers: { range: 'bytes=5-9', 'if-range': ifRange } })
      expect(r.status, ifRange).toBe(206)
      expect(Buffer.from(await r.arrayBuffer()).equals(bytes.subarray(5, 10))).toBe(true)
    }
    for (const ifRange of [`"${'0'.repeat(64)}"`, `W/${etag}`, 'Thu, 01 Jan 1970 00:00:00 GMT', 'garbage']) {
      const r = await fetch(url, { headers: { range: 'bytes=5-9', 'if-range': ifRange } })
      expect(r.status, ifRange).toBe(200)
      expect(Buffer.from(await r.arrayBuffer()).equals(bytes)).toBe(true)
    }
  })

  it('answers HEAD with the headers and no body', async () => {
    const { url, bytes } = await served()
    const h = await fetch(url, { method: 'HEAD' })
    expect(h.status).toBe(200)
    expect(h.headers.get('content-length')).toBe(String(bytes.length))
    expect(h.headers.get('accept-ranges')).toBe('bytes')
    expect((await h.arrayBuffer()).byteLength).toBe(0)
    const hr = await fetch(url, { method: 'HEAD', headers: { range: 'bytes=10-29' } })
    expect(hr.status).toBe(206)
    expect(hr.headers.get('content-length')).toBe('20')
    expect(hr.headers.get('content-range')).toBe(`bytes 10-29/${bytes.length}`)
  })

  it('serves only what a plan points to, and keeps serving a version handed out in a plan', async () => {
    const { f, base } = await served()
    const other = `${base}/webseed/images/other@1.tar`
    expect((await fetch(other)).status).toBe(404)
    expect((await fetch(other, { headers: bearer(f.token) })).status).toBe(200)
    expect((await fetch(`${base}/webseed/images/base@3.tar`)).status).toBe(404)
    expect((await fetch(`${base}/webseed/images/nope@1.tar`)).status).toBe(404)
    expect((await fetch(`${base}/webseed/images/base@1.zip`)).status).toBe(400)
    // node001 gets base@2 (latest packed); after base@4 is packed the plan
    // moves on, but base@2 stays downloadable for the node that got it.
    expect((await fetch(`${base}/api/v1/plan?hostname=node001`)).status).toBe(200)
    const { importPack, makeTree } = await import('./helpers.ts')
    await importPack(f.store, 'image', await makeTree(f.dir, 'b4', 1000), 'base@4', 'none')
    await f.app.inject({ method: 'POST', url: '/api/v1/plans/reload', headers: bearer(f.token) })
    expect((await fetch(`${base}/webseed/images/base@4.tar`)).status).toBe(200)
    expect((await fetch(`${base}/webseed/images/base@2.tar.zst`, { headers: { range: 'bytes=0-0' } })).status).toBe(206)
  })
})

describe('range parsing', () => {
  it('parses the forms RFC 9110 allows', () => {
    expect(parseRange(undefined, 100)).toEqual({ kind: 'full' })
    expect(parseRange('bytes=0-49', 100)).toEqual({ kind: 'partial', start: 0, end: 49 })
    expect(parseRange('bytes=50-', 100)).toEqual({ kind: 'partial', start: 50, end: 99 })
    expect(parseRange('bytes=-10', 100)).toEqual({ kind: 'partial', start: 90, end: 99 })
    expect(parseRange('Bytes = 1-2', 100)).toEqual({ kind: 'partial', start: 1, end: 2 })
    expect(parseRange('bytes=200-300, 5-6', 100)).toEqual({ kind: 'partial', start: 5, end: 6 })
    expect(parseRange('bytes=100-', 100)).toEqual({ kind: 'unsatisfiable' })
    expect(parseRange('bytes=0-', 0)).toEqual({ kind: 'unsatisfiable' })
    expect(parseRange('bytes=-5', 0)).toEqual({ kind: 'unsatisfiable' })
    expect(parseRange('bytes=5-1', 100)).toEqual({ kind: 'full' })
    expect(parseRange('bytes=1-2,-', 100)).toEqual({ kind: 'full' })
    expect(parseRange(`bytes=${'0-1,'.repeat(100)}`, 100)).toEqual({ kind: 'full' })
    expect(parseRange('bytes=99999999999999999-', 100)).toEqual({ kind: 'full' })
  })

  it('never returns a range outside the file (property)', () => {
    const spec = fc.oneof(
      fc.tuple(fc.nat(2000), fc.nat(2000)).map(([a, b]) => `${a}-${b}`),
      fc.nat(2000).map((a) => `${a}-`),
      fc.nat(2000).map((n) => `-${n}`),
      fc.string({ maxLength: 8 }),
    )
    fc.assert(
      fc.property(fc.array(spec, { minLength: 0, maxLength: 4 }), fc.nat(1500), (specs, size) => {
        const r = parseRange(`bytes=${specs.join(',')}`, size)
        if (r.kind === 'partial') {
          expect(r.start).toBeGreaterThanOrEqual(0)
          expect(r.end).toBeGreaterThanOrEqual(r.start)
          expect(r.end).toBeLessThan(size)
        }
      }),
      { numRuns: RUNS },
    )
  })

  it('checks If-Range validators strictly', () => {
    const d = new Date('2026-01-02T03:04:05Z')
    expect(ifRangeMatches(undefined, '"a"', d)).toBe(true)
    expect(ifRangeMatches('"a"', '"a"', d)).toBe(true)
    expect(ifRangeMatches('W/"a"', '"a"', d)).toBe(false)
    expect(ifRangeMatches(d.toUTCString(), '"a"', d)).toBe(true)
    expect(ifRangeMatches(new Date(d.getTime() + 1000).toUTCString(), '"a"', d)).toBe(false)
  })

  it('accepts only NAME@VERSION.tar[.zst] names', () => {
    expect(parseArchiveName('base@3.tar.zst')).toEqual({ name: 'base', version: '3', zstd: true })
    expect(parseArchiveName('base@1.2.tar')).toEqual({ name: 'base', version: '1.2', zstd: false })
    for (const bad of [
      'base.tar',
      '@1.tar',
      'base@.tar',
      '../base@1.tar',
      'base@1/../x.tar',
      'base@1.tar.gz',
      'a@b@c.tar',
      '.x@1.tar',
    ]) {
      expect(parseArchiveName(bad), bad).toBeUndefined()
    }
  })
})
