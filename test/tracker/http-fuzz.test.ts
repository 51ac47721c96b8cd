// Malformed announces get a bencoded failure, never a crash: examples first,
// then fast-check over query strings built from the fields that matter.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { RUNS } from '../support/fuzz.ts'
import { announce, announcePath, bdecode, binEscape, failure, get, hash, peerId, startTracker } from './helpers.ts'

const IH = hash(0x33)
const GOOD = `info_hash=${binEscape(Buffer.from(IH, 'hex'))}&peer_id=${binEscape(peerId(1))}&port=6881`

async function expectBencodedFailure(port: number, path: string, reason: RegExp): Promise<void> {
  const r = await get(port, path)
  expect([200, 400]).toContain(r.status)
  expect(failure(bdecode(r.body) as Record<string, never>)).toMatch(reason)
}

describe('HTTP announce parsing', () => {
  it.each([
    ['no query', '/announce', /info_hash/],
    ['short info_hash', `/announce?info_hash=abc&peer_id=${binEscape(peerId(1))}&port=1`, /info_hash/],
    ['info_hash twice', `/announce?${GOOD}&info_hash=${binEscape(Buffer.alloc(20))}`, /info_hash/],
    [
      '21-byte info_hash',
      `/announce?info_hash=${binEscape(Buffer.alloc(21))}&peer_id=${binEscape(peerId(1))}&port=1`,
      /info_hash/,
    ],
    ['missing peer_id', `/announce?info_hash=${binEscape(Buffer.from(IH, 'hex'))}&port=1`, /peer_id/],
    ['port not a number', `/announce?${GOOD.replace('port=6881', 'port=abc')}`, /port/],
    ['port out of range', `/announce?${GOOD.replace('port=6881', 'port=70000')}`, /port/],
    ['fractional port', `/announce?${GOOD.replace('port=6881', 'port=1.5')}`, /port/],
    ['unknown event', `/announce?${GOOD}&event=explode`, /event/],
    ['garbage', '/announce?%%%&&&==&info_hash', /info_hash/],
  ])('%s → bencoded failure', async (_name, path, reason) => {
    const t = await startTracker()
    await expectBencodedFailure(t.httpPort as number, path, reason)
    expect(t.stats().peers).toBe(0)
  })

  it('a huge numwant is capped, a negative one means the default', async () => {
    const t = await startTracker({ maxNumwant: 3 })
    for (let i = 0; i < 10; i++) await announce(t.httpPort as number, { infoHash: IH, peer: i, port: 6000 + i })
    const big = await announce(t.httpPort as number, { infoHash: IH, peer: 0, port: 6000, numwant: 1e12 })
    expect((big.peers as Buffer).length).toBe(3 * 6)
    const r = await get(t.httpPort as number, `${announcePath({ infoHash: IH, peer: 0, port: 6000 })}&numwant=-1`)
    expect(((bdecode(r.body) as Record<string, Buffer>).peers as Buffer).length).toBe(3 * 6)
  })

  it('other methods and paths', async () => {
    const t = await startTracker()
    expect((await get(t.httpPort as number, '/nothing')).status).toBe(404)
    const scrape = await get(t.httpPort as number, `/scrape?info_hash=${binEscape(Buffer.from(IH, 'hex'))}`)
    expect(bdecode(scrape.body)).toHaveProperty('files')
  })

  it('fuzzed announce queries always get a bencoded reply and the server stays up', async () => {
    const t = await startTracker()
    const port = t.httpPort as number
    const bytes = (max: number) => fc.uint8Array({ maxLength: max }).map((b) => binEscape(Buffer.from(b)))
    const value = fc.oneof(
      bytes(24),
      fc.constantFrom('', '0', '-1', '1e309', 'NaN', '65536', '6881', '1.5', 'started', 'stopped', '%', '%zz', '%u12'),
      fc.string({ maxLength: 12 }).map(encodeURIComponent),
      fc.integer().map(String),
    )
    const key = fc.constantFrom('info_hash', 'peer_id', 'port', 'left', 'numwant', 'compact', 'event', 'ip', 'key', 'x')
    const query = fc
      .array(fc.tuple(key, value), { maxLength: 10 })
      .map((kv) => kv.map(([k, v]) => `${k}=${v}`).join('&'))
    const good = fc.constantFrom('', `${GOOD}&`)
    await fc.assert(
      fc.asyncProperty(good, query, async (prefix, q) => {
        const r = await get(port, `/announce?${prefix}${q}`)
        expect([200, 400]).toContain(r.status)
        const d = bdecode(r.body) as Record<string, unknown>
        expect('failure reason' in d || ('interval' in d && 'peers' in d)).toBe(true)
      }),
      { numRuns: RUNS },
    )
    const ok = await announce(port, { infoHash: IH, peer: 500, port: 9500 })
    expect(failure(ok)).toBeUndefined()
  })
})
