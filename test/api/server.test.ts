// Health, seeder status, the tracker mount and the OpenAPI document.
import { readFile } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import { describe, expect, it, onTestFinished } from 'vitest'
import { bdecode } from '../../common/bencode.ts'
import { createLogger } from '../../common/log.ts'
import { buildOpenApiJson } from '../../scripts/openapi.ts'
import { openFleet } from '../../seeder/fleet/index.ts'
import { createTracker } from '../../tracker/index.ts'
import { bearer, fixture } from './helpers.ts'

describe('health and seeder', () => {
  it('reports liveness, and readiness from the store and the seeder', async () => {
    let ready = false
    const f = await fixture({ init: { seeder: { ready: () => ready, status: () => ({ torrents: 2 }) } } })
    expect((await f.app.inject({ method: 'GET', url: '/api/v1/health' })).json()).toEqual({ status: 'ok' })
    const notYet = await f.app.inject({ method: 'GET', url: '/api/v1/health/ready' })
    expect(notYet.statusCode).toBe(503)
    expect(notYet.json()).toMatchObject({ ready: false, store: true, seeder: false })
    ready = true
    expect((await f.app.inject({ method: 'GET', url: '/api/v1/health/ready' })).statusCode).toBe(200)
    const s = await f.app.inject({ method: 'GET', url: '/api/v1/seeder', headers: bearer(f.token) })
    expect(s.json()).toEqual({ ready: true, status: { torrents: 2 } })
    const noRefresh = await f.app.inject({ method: 'POST', url: '/api/v1/seeder/refresh', headers: bearer(f.token) })
    expect(noRefresh.statusCode).toBe(501)
  })

  it('is not ready when the store is gone', async () => {
    const f = await fixture()
    const { rm } = await import('node:fs/promises')
    await rm(f.store.root, { recursive: true, force: true })
    const r = await f.app.inject({ method: 'GET', url: '/api/v1/health/ready' })
    expect(r.statusCode).toBe(503)
    expect(r.json()).toMatchObject({ ready: false, store: false })
  })

  it('answers unknown routes with a JSON 404', async () => {
    const f = await fixture()
    const r = await f.app.inject({ method: 'GET', url: '/api/v2/nothing' })
    expect(r.statusCode).toBe(404)
    expect(r.json().error.code).toBe('IMGSWARM_ERR_NOT_FOUND')
  })
})

describe('tracker mount', () => {
  it('routes /announce, /scrape, /stats and /metrics to the tracker over real HTTP', async () => {
    const tracker = createTracker({ http: false, udp: false, logger: createLogger('tracker', 'silent') })
    await tracker.start()
    try {
      const f = await fixture({ init: { tracker } })
      await f.app.listen({ host: '127.0.0.1', port: 0 })
      const { port } = f.app.server.address() as AddressInfo
      const base = `http://127.0.0.1:${port}`
      const stats = await fetch(`${base}/stats`)
      expect(stats.status).toBe(200)
      expect(await stats.json()).toBeTypeOf('object')
      const metrics = await fetch(`${base}/metrics`)
      expect(metrics.status).toBe(200)
      expect(await metrics.text()).toMatch(/^# (HELP|TYPE)/m)
      const hash = '%AA'.repeat(20)
      const peer = '-IS0001-'.padEnd(20, 'x')
      const ann = await fetch(
        `${base}/announce?info_hash=${hash}&peer_id=${peer}&port=6881&uploaded=0&downloaded=0&left=100&compact=1&event=started`,
      )
      expect(ann.status).toBe(200)
      const body = bdecode(Buffer.from(await ann.arrayBuffer())).value as Map<string, unknown>
      expect(body.has('interval') || body.has('failure reason')).toBe(true)
      const scrape = await fetch(`${base}/scrape?info_hash=${hash}`)
      expect(scrape.status).toBe(200)
      await scrape.arrayBuffer()
    } finally {
      await tracker.stop()
    }
  })

  it('mounts nothing without a tracker', async () => {
    const f = await fixture()
    expect((await f.app.inject({ method: 'GET', url: '/announce' })).statusCode).toBe(404)
  })
})

describe('OpenAPI', () => {
  it('documents every route, marks admin routes, and docs/openapi.json is up to date', async () => {
    const json = await buildOpenApiJson()
    const doc = JSON.parse(json)
    expect(doc.openapi).toBe('3.1.0')
    expect(doc.paths['/api/v1/plan'].get.security).toEqual([])
    expect(doc.paths['/api/v1/images'].get.security).toEqual([{ bearerAuth: [] }])
    expect(doc.paths['/api/v1/images/{name}/{version}'].delete.security).toEqual([{ bearerAuth: [] }])
    expect(
      doc.paths['/api/v1/events'].post.requestBody.content['application/json'].schema.properties.step.enum,
    ).toContain('bootloader')
    expect(Object.keys(doc.paths['/webseed/images/{file}']).sort()).toEqual(['get', 'head'])
    // Compared as data: the file on disk is also formatted by biome.
    const onDisk = JSON.parse(await readFile(new URL('../../docs/openapi.json', import.meta.url), 'utf8'))
    expect(
      onDisk,
      'regenerate: node scripts/openapi.ts > docs/openapi.json && npx biome format --write docs/openapi.json',
    ).toEqual(doc)
    // The fleet routes exist when serve gives the API its fleet database.
    const fleet = openFleet({ file: ':memory:' })
    onTestFinished(() => fleet.stop())
    const f = await fixture({ init: { fleet } })
    const served = await f.app.inject({ method: 'GET', url: '/api/v1/openapi.json' })
    expect(Object.keys(served.json().paths)).toEqual(Object.keys(doc.paths))
  })
})
