// Node events: accepted from nodes, listed for admins, kept in a ring and a JSONL file.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { memoryEventSink, type NodeEvent } from '../../seeder/api/index.ts'
import { tempDir } from '../support/tmp.ts'
import { bearer, fixture } from './helpers.ts'

describe('events', () => {
  it('accepts events (202) and lists them for admins, newest last, by node', async () => {
    const f = await fixture()
    const posts = [
      { node: 'node001', step: 'download', percent: 10, bytesDown: 1000, rateDown: 12.5, peers: 3 },
      { node: '52:54:00:12:34:99', step: 'disks' },
      { node: 'node001', step: 'failed', code: 'IMGSWARM_ERR_CHECKSUM', message: 'bad', logTail: ['a', 'b'] },
    ]
    for (const p of posts) {
      const r = await f.app.inject({ method: 'POST', url: '/api/v1/events', payload: p, remoteAddress: '10.0.0.11' })
      expect(r.statusCode).toBe(202)
      expect(r.json()).toEqual({ accepted: true })
    }
    const all = await f.app.inject({ method: 'GET', url: '/api/v1/events', headers: bearer(f.token) })
    expect(all.statusCode).toBe(200)
    const events = all.json().events as NodeEvent[]
    expect(events.map((e) => e.step)).toEqual(['download', 'disks', 'failed'])
    expect(events[0]).toMatchObject({ ...posts[0], ip: '10.0.0.11' })
    expect(Date.parse(events[0]?.receivedAt ?? '')).not.toBeNaN()
    const one = await f.app.inject({
      method: 'GET',
      url: '/api/v1/events?node=node001&limit=1',
      headers: bearer(f.token),
    })
    expect((one.json().events as NodeEvent[]).map((e) => e.step)).toEqual(['failed'])
    const lines = (await readFile(join(f.dir, 'events.jsonl'), 'utf8')).trim().split('\n')
    expect(lines.map((l) => JSON.parse(l).step)).toEqual(['download', 'disks', 'failed'])
    const bad = await f.app.inject({ method: 'GET', url: '/api/v1/events?limit=0', headers: bearer(f.token) })
    expect(bad.statusCode).toBe(400)
    expect(bad.json().error.field).toBe('querystring.limit')
  })

  it('keeps only the newest events in memory, and every one in the file', async () => {
    const dir = await tempDir()
    const file = join(dir, 'sub', 'events.jsonl')
    const sink = memoryEventSink({ file, max: 3 })
    const ev = (i: number): NodeEvent => ({
      node: `n${i % 2}`,
      step: 'download',
      percent: i,
      receivedAt: 'x',
      ip: '::1',
    })
    await Promise.all(Array.from({ length: 7 }, (_, i) => sink.add(ev(i))))
    expect(sink.recent(10).map((e) => e.percent)).toEqual([4, 5, 6])
    expect(sink.recent(2).map((e) => e.percent)).toEqual([5, 6])
    expect(sink.recent(10, 'n0').map((e) => e.percent)).toEqual([4, 6])
    const lines = (await readFile(file, 'utf8')).trim().split('\n')
    expect(lines.map((l) => JSON.parse(l).percent)).toEqual([0, 1, 2, 3, 4, 5, 6])
  })
})
