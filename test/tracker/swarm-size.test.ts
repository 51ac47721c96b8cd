// A fleet is one big swarm: the library's default 1000-peer cache would evict
// most of it silently. 1500 raw announces (distinct ports, no downloads).
import { describe, expect, it } from 'vitest'
import { announce, type Bencoded, failure, get, hash, startTracker } from './helpers.ts'

const IH = hash(0x11)
const PEERS = 1500

async function inParallel<T>(n: number, width: number, job: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(n)
  let next = 0
  const worker = async () => {
    while (next < n) {
      const i = next++
      out[i] = await job(i)
    }
  }
  await Promise.all(Array.from({ length: width }, worker))
  return out
}

const peersIn = (d: { [k: string]: Bencoded }) => (d.peers as Buffer).length / 6

describe('swarm size', () => {
  it(`keeps all ${PEERS} peers of one swarm and caps numwant`, async () => {
    const t = await startTracker({ maxNumwant: 200 })
    const replies = await inParallel(PEERS, 16, (i) =>
      announce(t.httpPort as number, { infoHash: IH, peer: i, port: 10_000 + i, event: 'started' }),
    )
    expect(replies.filter((r) => failure(r) !== undefined)).toEqual([])

    const stats = JSON.parse((await get(t.httpPort as number, '/stats')).body.toString())
    expect(stats).toMatchObject({ torrents: 1, peers: PEERS, leechers: PEERS, seeders: 0, announces: PEERS })
    expect(stats.swarms).toEqual([{ infoHash: IH, seeders: 0, leechers: PEERS, announces: PEERS }])

    const huge = await announce(t.httpPort as number, { infoHash: IH, peer: 0, port: 10_000, numwant: 100_000 })
    expect(huge.incomplete).toBe(PEERS)
    expect(peersIn(huge)).toBe(200)
    const small = await announce(t.httpPort as number, { infoHash: IH, peer: 0, port: 10_000, numwant: 7 })
    expect(peersIn(small)).toBe(7)
    const dflt = await announce(t.httpPort as number, { infoHash: IH, peer: 0, port: 10_000 })
    expect(peersIn(dflt)).toBe(50)
    expect(dflt.interval).toBe(30)
  })

  it('a stopped peer leaves the swarm and a completed one becomes a seeder', async () => {
    const t = await startTracker()
    const port = t.httpPort as number
    await announce(port, { infoHash: IH, peer: 1, port: 9001, event: 'started' })
    await announce(port, { infoHash: IH, peer: 2, port: 9002, event: 'started' })
    await announce(port, { infoHash: IH, peer: 2, port: 9002, event: 'completed', left: 0 })
    await announce(port, { infoHash: IH, peer: 1, port: 9001, event: 'stopped' })
    expect(t.stats()).toMatchObject({ peers: 1, seeders: 1, leechers: 0 })
  })

  it('honours a smaller peersCacheLength (the cap is ours to choose)', async () => {
    const t = await startTracker({ peersCacheLength: 10 })
    await inParallel(15, 4, (i) => announce(t.httpPort as number, { infoHash: IH, peer: i, port: 20_000 + i }))
    expect(t.stats().peers).toBe(10)
  })
})
