// Fills a tracker with distinct peers (for the memory figure) and checks that
// a side really accepts our announces before its throughput counts.
import { Agent, request } from 'node:http'

const pctHex = (hex: string) => hex.replace(/../g, '%$&')

export function announcePath(infoHash: string, swarm: number, peer: number): string {
  const peerId = `-BN0001-${String(swarm * 100000 + peer).padStart(12, '0')}`
  return `/announce?info_hash=${pctHex(infoHash)}&peer_id=${peerId}&port=${10000 + peer}&uploaded=0&downloaded=0&left=1000&compact=1&numwant=50&event=started`
}

export function get(agent: Agent, port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent }, (res) => {
      let body = ''
      res.setEncoding('latin1')
      res.on('data', (c: string) => {
        body += c
      })
      res.on('end', () => resolve(body))
    })
    req.on('error', reject)
    req.setTimeout(10_000, () => req.destroy(new Error('announce timed out')))
    req.end()
  })
}

/** Announces every peer of every swarm once; returns the first failure reason seen, if any. */
export async function populate(
  port: number,
  hashes: string[],
  peersPerSwarm: number,
  keepAlive = false,
): Promise<string | undefined> {
  // opentracker closes each connection after its reply: keep-alive only for ours.
  const agent = new Agent({ keepAlive, maxSockets: 16 })
  const jobs: string[] = []
  hashes.forEach((h, s) => {
    for (let p = 1; p <= peersPerSwarm; p++) jobs.push(announcePath(h, s + 1, p))
  })
  let failure: string | undefined
  let next = 0
  const worker = async () => {
    while (next < jobs.length) {
      const path = jobs[next++] as string
      let body = ''
      // opentracker sometimes closes a connection before replying under concurrent load: retry.
      for (let attempt = 1; ; attempt++) {
        try {
          body = await get(agent, port, path)
          break
        } catch (e) {
          if (attempt === 20) throw e
          await new Promise((r) => setTimeout(r, 10))
        }
      }
      if (!body.startsWith('d8:complete')) failure ??= body.slice(0, 200)
    }
  }
  await Promise.all(Array.from({ length: 16 }, worker))
  agent.destroy()
  return failure
}
