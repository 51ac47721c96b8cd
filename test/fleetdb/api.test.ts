// The fleet API on a real serve over real HTTP: events become node rows and
// installs, the actions and their refusals, discovery through the plan
// route, and the SSE stream.
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it, vi } from 'vitest'
import { SESSION_TTL_MS } from '../../seeder/api/session.ts'
import { body, postEvent, readStream, type SseEvent, serve } from './support.ts'

const json = { 'content-type': 'application/json' }

describe('fleet API', () => {
  it('lists nodes, details, events, installs and fleet totals from posted events', async () => {
    const s = await serve()
    expect(await postEvent(s.url, { node: 'node001', step: 'config' })).toBe(202)
    expect(
      await postEvent(s.url, {
        node: 'node001',
        step: 'download',
        percent: 25,
        bytesDown: 1000,
        rateDown: 500,
        bytesFromServer: 400,
        bytesFromPeers: 600,
      }),
    ).toBe(202)
    expect(await postEvent(s.url, { node: 'node002', step: 'config' })).toBe(202)
    expect(
      await postEvent(s.url, { node: 'node002', step: 'failed', code: 'IMGSWARM_ERR_DISK', message: 'no disk' }),
    ).toBe(202)

    const list = await body(fetch(`${s.url}/api/v1/nodes`, { headers: s.auth }))
    expect(list.nodes.map((n: { id: string; state: string }) => [n.id, n.state])).toEqual([
      ['node001', 'installing'],
      ['node002', 'failed'],
    ])
    const failed = await body(fetch(`${s.url}/api/v1/nodes?state=failed`, { headers: s.auth }))
    expect(failed.nodes.map((n: { id: string }) => n.id)).toEqual(['node002'])
    const one = await body(fetch(`${s.url}/api/v1/nodes/node001`, { headers: s.auth }))
    expect(one).toMatchObject({ id: 'node001', percent: 25, rateDown: 500, facts: null, ip: '127.0.0.1' })
    expect(one.events.map((e: { step: string }) => e.step)).toEqual(['config', 'download'])
    const evs = await body(
      fetch(`${s.url}/api/v1/nodes/node001/events?after=${one.events[0].seq}`, { headers: s.auth }),
    )
    expect(evs.events.map((e: { step: string }) => e.step)).toEqual(['download'])
    const inst = await body(fetch(`${s.url}/api/v1/installs?node=node002`, { headers: s.auth }))
    expect(inst.installs).toMatchObject([{ node: 'node002', result: 'failed', code: 'IMGSWARM_ERR_DISK' }])
    const fleet = await body(fetch(`${s.url}/api/v1/fleet`, { headers: s.auth }))
    expect(fleet).toMatchObject({ rateDown: 500, bytesFromServer: 400, bytesFromPeers: 600 })
    expect(fleet.counts).toMatchObject({ installing: 1, failed: 1, idle: 0 })
    expect(fleet.history.length).toBeGreaterThanOrEqual(1)
    // The old admin list of events still works, now from the database.
    const old = await body(fetch(`${s.url}/api/v1/events?node=node002`, { headers: s.auth }))
    expect(old.events.map((e: { step: string }) => e.step)).toEqual(['config', 'failed'])
    const sw = await body(fetch(`${s.url}/api/v1/swarms`, { headers: s.auth }))
    expect(sw.swarms).toMatchObject([{ kind: 'image', name: 'img', version: '1', seeders: expect.any(Number) }])
    expect(sw.swarms[0].pieces).toBeGreaterThan(0)
    expect(sw.swarms[0].availability).toMatchObject({ min: 0 })
  })

  it('refuses without the token (401), bad bodies (400), unknown nodes and groups (404)', async () => {
    const s = await serve()
    await postEvent(s.url, { node: 'node001', step: 'config' })
    const calls: [string, string, unknown?][] = [
      ['GET', '/api/v1/nodes'],
      ['GET', '/api/v1/nodes/node001'],
      ['GET', '/api/v1/installs'],
      ['GET', '/api/v1/fleet'],
      ['GET', '/api/v1/swarms'],
      ['GET', '/api/v1/stream'],
      ['POST', '/api/v1/nodes/node001/reimage', {}],
      ['POST', '/api/v1/nodes/node001/cancel', {}],
      ['POST', '/api/v1/nodes/node001/adopt', { group: 'g' }],
      ['DELETE', '/api/v1/nodes/node001'],
      ['POST', '/api/v1/groups/g/reimage', {}],
      ['POST', '/api/v1/nodes/import', { csv: '' }],
    ]
    for (const [method, path, payload] of calls) {
      const r = await fetch(`${s.url}${path}`, {
        method,
        ...(payload === undefined ? {} : { headers: json, body: JSON.stringify(payload) }),
      })
      expect([path, r.status]).toEqual([path, 401])
      expect((await body(r)).error.code).toBe('IMGSWARM_ERR_UNAUTHORIZED')
    }
    const wrong = await fetch(`${s.url}/api/v1/nodes`, { headers: { authorization: 'Bearer nottherighttoken000' } })
    expect(wrong.status).toBe(401)
    const h = { ...s.auth, ...json }
    const bad: [string, string, unknown, string][] = [
      ['POST', '/api/v1/nodes/node001/adopt', {}, 'body.group'],
      ['POST', '/api/v1/nodes/node001/adopt', { group: 'g', extra: 1 }, 'body.extra'],
      ['POST', '/api/v1/nodes/node001/adopt', { group: 'bad group' }, 'body.group'],
      ['POST', '/api/v1/nodes/node001/reimage', { now: true }, 'body.now'],
      ['POST', '/api/v1/groups/g/reimage', { x: 1 }, 'body.x'],
      ['POST', '/api/v1/nodes/import', { csv: 'x', more: 1 }, 'body.more'],
      ['GET', '/api/v1/nodes?state=sleeping', undefined, 'querystring.state'],
      ['GET', '/api/v1/nodes?colour=red', undefined, 'querystring.colour'],
      ['GET', '/api/v1/fleet?since=1', undefined, 'querystring.since'],
      ['GET', '/api/v1/stream?x=1', undefined, 'querystring.x'],
      ['GET', '/api/v1/nodes/node001/events?after=-1', undefined, 'querystring.after'],
      ['GET', '/api/v1/nodes/-bad', undefined, 'params.id'],
    ]
    for (const [method, path, payload, field] of bad) {
      const r = await fetch(`${s.url}${path}`, {
        method,
        headers: h,
        ...(payload === undefined ? {} : { body: JSON.stringify(payload) }),
      })
      const b = await body(r)
      expect([path, r.status, b.error.code, b.error.field]).toEqual([path, 400, 'IMGSWARM_ERR_INVALID_REQUEST', field])
    }
    const csv = await fetch(`${s.url}/api/v1/nodes/import`, {
      method: 'POST',
      headers: h,
      body: JSON.stringify({ csv: '52:54:00:00:00:01,10.0.0.1\nnope,10.0.0.2\n', file: 'n.csv' }),
    })
    expect(csv.status).toBe(400)
    expect((await body(csv)).error).toMatchObject({
      code: 'IMGSWARM_ERR_CSV',
      message: expect.stringContaining('n.csv line 2'),
    })
    const missing = await fetch(`${s.url}/api/v1/nodes/ghost/reimage`, { method: 'POST', headers: h, body: '{}' })
    expect([missing.status, (await body(missing)).error.code]).toEqual([404, 'IMGSWARM_ERR_NODE_NOT_FOUND'])
    const group = await fetch(`${s.url}/api/v1/groups/none/reimage`, { method: 'POST', headers: h, body: '{}' })
    expect([group.status, (await body(group)).error.code]).toEqual([404, 'IMGSWARM_ERR_GROUP_NOT_FOUND'])
    // Nothing changed.
    const n = await body(fetch(`${s.url}/api/v1/nodes/node001`, { headers: s.auth }))
    expect(n).toMatchObject({ state: 'installing', group: null })
  })

  it('a plan request from an unknown MAC records it as discovered; actions adopt, reimage, cancel and remove it', async () => {
    const s = await serve()
    const mac = '52:54:00:12:34:aa'
    // plans.toml knows the MAC (a plan exists); the inventory does not yet.
    await writeFile(
      join(s.storeRoot, 'plans.toml'),
      `[defaults]\nimage = "img"\npost = "none"\n[[node]]\nmac = "${mac}"\n`,
    )
    expect((await fetch(`${s.url}/api/v1/plans/reload`, { method: 'POST', headers: s.auth })).status).toBe(200)
    const plan = await fetch(`${s.url}/api/v1/plan?mac=${mac}`)
    expect([plan.status, await plan.text()]).toEqual([200, expect.any(String)])
    const h = { ...s.auth, ...json }
    const disc = await body(fetch(`${s.url}/api/v1/nodes?state=discovered`, { headers: s.auth }))
    expect(disc.nodes).toMatchObject([{ id: mac, state: 'discovered', image: 'img@1' }])
    const refused = await fetch(`${s.url}/api/v1/nodes/${mac}/reimage`, { method: 'POST', headers: h, body: '{}' })
    expect([refused.status, (await body(refused)).error.code]).toEqual([409, 'IMGSWARM_ERR_NOT_ADOPTED'])
    const adopt = await fetch(`${s.url}/api/v1/nodes/${mac}/adopt`, {
      method: 'POST',
      headers: h,
      body: JSON.stringify({ group: 'lab' }),
    })
    expect(await body(adopt)).toMatchObject({ ok: true, node: { id: mac, state: 'idle', group: 'lab' } })
    // A reimage without any body at all is fine too.
    const re = await fetch(`${s.url}/api/v1/nodes/${mac}/reimage`, { method: 'POST', headers: s.auth })
    expect(await body(re)).toMatchObject({ ok: true, node: { state: 'reimage-requested' } })
    const grp = await fetch(`${s.url}/api/v1/groups/lab/reimage`, { method: 'POST', headers: h, body: '{}' })
    expect(await body(grp)).toMatchObject({ ok: true, nodes: [{ id: mac, state: 'reimage-requested' }] })
    const can = await fetch(`${s.url}/api/v1/nodes/${mac}/cancel`, { method: 'POST', headers: h, body: '{}' })
    expect(await body(can)).toMatchObject({ ok: true, node: { state: 'idle' } })
    const rm = await fetch(`${s.url}/api/v1/nodes/${mac}`, { method: 'DELETE', headers: s.auth })
    expect(await body(rm)).toMatchObject({ ok: true, node: { id: mac } })
    expect((await fetch(`${s.url}/api/v1/nodes/${mac}`, { headers: s.auth })).status).toBe(404)
  })

  it('the iPXE route asks the fleet database: local for unknown and done nodes, the installer when requested', async () => {
    const s = await serve()
    const mac = '52:54:00:0b:00:01'
    const script = async () => (await fetch(`${s.url}/api/v1/boot/ipxe?mac=${mac}`)).text()
    expect(await script()).not.toContain('/api/v1/boot/kernel')
    expect((await body(fetch(`${s.url}/api/v1/nodes/${mac}`, { headers: s.auth }))).state).toBe('discovered')
    const h = { ...s.auth, ...json }
    await fetch(`${s.url}/api/v1/nodes/${mac}/adopt`, { method: 'POST', headers: h, body: '{"group":"lab"}' })
    await fetch(`${s.url}/api/v1/nodes/${mac}/reimage`, { method: 'POST', headers: h, body: '{}' })
    expect(await script()).toContain('/api/v1/boot/kernel')
    await postEvent(s.url, { node: mac, step: 'config' })
    await postEvent(s.url, { node: mac, step: 'done' })
    expect(await script()).not.toContain('/api/v1/boot/kernel')
    const inst = await body(fetch(`${s.url}/api/v1/installs?node=${mac}`, { headers: s.auth }))
    expect(inst.installs).toMatchObject([{ result: 'verified' }])
  })

  it('the stream sends node updates, installs and fleet totals', async () => {
    const s = await serve()
    const ac = new AbortController()
    const timer = setTimeout(() => ac.abort(), 60_000)
    const seen = (all: SseEvent[], ev: string, pred: (d: Record<string, unknown>) => boolean) =>
      all.some((e) => e.event === ev && pred(e.data as Record<string, unknown>))
    const all = await readStream(
      s.url,
      s.auth,
      (_e, all) =>
        seen(all, 'node', (d) => d.id === 'node077' && d.percent === 60) &&
        seen(all, 'install', (d) => d.node === 'node077' && d.result === 'running'),
      ac.signal,
      async () => {
        await postEvent(s.url, { node: 'node077', step: 'config' })
        await postEvent(s.url, { node: 'node077', step: 'download', percent: 30 })
        await postEvent(s.url, { node: 'node077', step: 'download', percent: 60 })
      },
    ).finally(() => clearTimeout(timer))
    expect(all[0]?.event).toBe('fleet')
    expect(all[0]?.data).toMatchObject({ counts: expect.any(Object), rateDown: expect.any(Number) })
    // Coalesced: the 30% update was sent in the same tick as the 60% one or replaced by it, never after it.
    const node = all.filter((e) => e.event === 'node').map((e) => (e.data as { percent: number | null }).percent)
    expect(node.at(-1)).toBe(60)
    expect(node.filter((p) => p === 60).length).toBe(1)
  })

  it('a stream opened on a dashboard session ends when the session does; one on the token goes on', async () => {
    const s = await serve()
    const logins = await Promise.all(
      [0, 1].map(() =>
        fetch(`${s.url}/api/v1/login`, { method: 'POST', headers: json, body: JSON.stringify({ token: s.token }) }),
      ),
    )
    const cookies = logins.map((r) => String(r.headers.get('set-cookie')).split(';')[0] as string)
    const open = async (headers: Record<string, string>) => {
      const res = await fetch(`${s.url}/api/v1/stream`, { headers })
      expect(res.status).toBe(200)
      const reader = (res.body as ReadableStream<Uint8Array>).getReader()
      await reader.read()
      return reader
    }
    /** Reads until the stream ends (true) or `ms` pass with it still open (false); on the real clock, as Date may be faked. */
    const ends = async (reader: ReadableStreamDefaultReader<Uint8Array>, ms: number) => {
      const deadline = performance.now() + ms
      while (performance.now() < deadline) {
        const r = await Promise.race([
          reader.read().catch(() => ({ done: true })),
          new Promise<{ done: false }>((ok) => setTimeout(() => ok({ done: false }), deadline - performance.now())),
        ])
        if (r.done) return true
      }
      return false
    }
    const [a, b] = [await open({ cookie: cookies[0] as string }), await open({ cookie: cookies[1] as string })]
    const token = await open(s.auth)
    // The logout of session A, from anywhere (here without the page's own stream closing it).
    const out = await fetch(`${s.url}/api/v1/logout`, { method: 'POST', headers: { cookie: cookies[0] as string } })
    expect(out.status).toBe(200)
    expect(await ends(a, 10_000)).toBe(true)
    // Session B and the token are still valid: their streams stay open through two fleet ticks.
    expect(await ends(b, 5_000)).toBe(false)
    expect(await ends(token, 100)).toBe(false)
    expect((await fetch(`${s.url}/api/v1/stream`, { headers: { cookie: cookies[0] as string } })).status).toBe(401)
    // Session B expires (the clock moved past its 12 hours): its stream ends at the next fleet tick.
    vi.useFakeTimers({ toFake: ['Date'] })
    try {
      vi.setSystemTime(Date.now() + SESSION_TTL_MS + 60_000)
      expect(await ends(b, 10_000)).toBe(true)
      expect(await ends(token, 3_000)).toBe(false)
    } finally {
      vi.useRealTimers()
    }
    await token.cancel()
  })

  it('stopping the server ends open streams instead of waiting for them', async () => {
    const s = await serve()
    const res = await fetch(`${s.url}/api/v1/stream`, { headers: s.auth })
    expect(res.status).toBe(200)
    const reader = (res.body as ReadableStream<Uint8Array>).getReader()
    await reader.read()
    await s.stop()
    // The stream ends (done) rather than staying open.
    let done = false
    while (!done) done = (await reader.read().catch(() => ({ done: true }))).done
    expect(done).toBe(true)
  })
})
