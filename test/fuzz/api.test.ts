// API bodies against a real `serve` (tracker, seeder, API, fleet database)
// on a free loopback port, over real HTTP: node events, the fleet actions
// (adopt, reimage, cancel, group reimage, CSV import) and the dashboard
// login. Every answer is 2xx, or 4xx with an IMGSWARM_ERR_* body; never a
// 5xx, a dropped connection or a hang; the server still works afterwards.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { packedStore, type Running, startServe } from '../serve/harness.ts'
import { tempDir } from '../support/tmp.ts'
import { type Body, bodies, csv, editedObject, events, NODE_IDS } from './api-bodies.ts'
import { CLEAN, campaign, failures } from './harness.ts'
import { judgeApi, send } from './http.ts'

let server: Running
let token = ''

beforeAll(async () => {
  const dir = await tempDir('imgswarm-fuzz-api-')
  const { store } = await packedStore(dir, 1)
  server = await startServe(store, { udp: false })
  token = (await readFile(join(store.root, 'keys', 'admin.token'), 'utf8')).trim()
  // Some nodes to act on: discovered by their events, imported with a group.
  for (const node of NODE_IDS.slice(0, 3)) {
    const r = await post('/api/v1/events', {
      type: 'application/json',
      body: Buffer.from(JSON.stringify({ node, step: 'download' })),
    })
    expect(r.status).toBe(202)
  }
  const imp = await post(
    '/api/v1/nodes/import',
    {
      type: 'application/json',
      body: Buffer.from(JSON.stringify({ csv: '52:54:00:00:03:01,10.0.3.1,rend301,render\n' })),
    },
    true,
  )
  expect(imp.status).toBe(200)
}, 120_000)

afterAll(async () => {
  await server?.stop()
})

function post(path: string, b: Body, admin = false, method = 'POST') {
  const headers: Record<string, string> = {}
  if (b.type !== undefined) headers['content-type'] = b.type
  if (admin) headers.authorization = `Bearer ${token}`
  return send(server.url, method, path, { headers, body: b.body })
}

async function judged(p: Promise<Awaited<ReturnType<typeof send>>>): Promise<string> {
  const r = await p.catch((e: Error) => e)
  if (r instanceof Error) return `request failed: ${r.message}`
  return judgeApi(r) ?? (r.status < 300 ? 'accepted' : 'refused')
}

/** Still up and serving: health and a good event. */
async function stillWorks(): Promise<void> {
  // (Liveness: readiness flips to 503 while the seeder rescans the store every 5 s.)
  const h = await send(server.url, 'GET', '/api/v1/health')
  expect(h.status).toBe(200)
  const ok = await post('/api/v1/events', {
    type: 'application/json',
    body: Buffer.from('{"node":"node001","step":"done"}'),
  })
  expect(ok.status).toBe(202)
}

const idInPath = fc.oneof(
  { arbitrary: fc.constantFrom(...NODE_IDS, 'rend301'), weight: 4 },
  { arbitrary: fc.constantFrom('%2e%2e', '..%2f..', '%00', 'a%2Fb', '%ff%fe', '-x', 'a'.repeat(300)), weight: 1 },
  { arbitrary: fc.string({ maxLength: 30 }).map(encodeURIComponent), weight: 1 },
)

describe('fuzz: API bodies on a real serve', () => {
  it('POST /api/v1/events', async () => {
    const r = await campaign('api-events', bodies(events), (b) => judged(post('/api/v1/events', b)))
    expect(failures(r)).toEqual(CLEAN)
    expect(r.accepted).toBeGreaterThan(0)
    expect(r.refused).toBeGreaterThan(0)
    await stillWorks()
  })

  it('fleet actions: adopt, reimage, cancel, group reimage, delete, CSV import', async () => {
    const action = fc.oneof(
      fc.record({
        path: idInPath.map((id) => `/api/v1/nodes/${id}/adopt`),
        b: bodies(editedObject({ group: 'render' })),
        method: fc.constant('POST'),
      }),
      fc.record({
        path: fc.tuple(idInPath, fc.constantFrom('reimage', 'cancel')).map(([id, a]) => `/api/v1/nodes/${id}/${a}`),
        b: fc.oneof(bodies(editedObject({})), fc.constant({ type: undefined, body: Buffer.alloc(0) })),
        method: fc.constant('POST'),
      }),
      fc.record({
        path: fc.oneof(fc.constantFrom('render', 'new', 'nope'), idInPath).map((g) => `/api/v1/groups/${g}/reimage`),
        b: bodies(editedObject({})),
        method: fc.constant('POST'),
      }),
      fc.record({
        path: idInPath.map((id) => `/api/v1/nodes/${id}`),
        b: fc.constant({ type: undefined, body: Buffer.alloc(0) }),
        method: fc.constantFrom('DELETE', 'GET'),
      }),
      fc.record({
        path: fc.constant('/api/v1/nodes/import'),
        b: bodies(csv.chain((c) => editedObject({ csv: c, file: 'nodes.csv' }))),
        method: fc.constant('POST'),
      }),
    )
    const r = await campaign('api-fleet', action, (a) => judged(post(a.path, a.b, true, a.method)))
    expect(failures(r)).toEqual(CLEAN)
    expect(r.accepted).toBeGreaterThan(0)
    expect(r.refused).toBeGreaterThan(0)
    await stillWorks()
  })

  it('POST /api/v1/login', async () => {
    const login = fc.oneof(
      bodies(editedObject({ token: 'not-the-token' })),
      bodies(editedObject({ password: 'hunter2' })),
      fc.constant<Body | undefined>(undefined), // the real token: a session
    )
    const r = await campaign('api-login', login, (b) =>
      judged(post('/api/v1/login', b ?? { type: 'application/json', body: Buffer.from(JSON.stringify({ token })) })),
    )
    expect(failures(r)).toEqual(CLEAN)
    expect(r.refused).toBeGreaterThan(0)
    await stillWorks()
  })
})
