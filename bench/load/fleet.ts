// The simulated fleet: every node, once per period, announces to the tracker,
// fetches its plan and posts a progress event. One async scheduler spreads
// the nodes × 3 requests evenly over the period (an open loop: a slow reply
// does not slow the others down), through one keep-alive agent. A node whose
// previous request of a kind is still in flight skips that kind for the
// period and the skip is counted ("late"), so a stalled server shows up
// instead of piling up requests in the generator. Like the boot client, a
// node names itself in events by its MAC until its first plan reply, then by
// the host name the plan gave (the fleet database joins the two).
import { Agent, request } from 'node:http'
import type { SimNode } from './fixture.ts'

export const KINDS = ['announce', 'plan', 'event'] as const
export type Kind = (typeof KINDS)[number]

export interface DriveInit {
  url: string
  infoHash: string
  nodes: SimNode[]
  periodMs: number
  seconds: number
  /** Keep-alive sockets to the server (default 256). */
  sockets?: number
  signal?: AbortSignal
}

export interface KindStats {
  sent: number
  /** Replies by HTTP status; tracker replies that carry a "failure reason" count as "failure". */
  status: Record<string, number>
  /** Connection errors and timeouts, by error code. */
  errors: Record<string, number>
  late: number
  /** Milliseconds from issuing the request to the end of the reply body, for every reply. */
  latencies: number[]
}

export interface DriveResult {
  /** From the first request to the last reply (the scheduled window plus the replies still due at its end). */
  seconds: number
  /** Requests the schedule called for, per kind: nodes × window / period. */
  slots: number
  kinds: Record<Kind, KindStats>
  /** Event ids (`NODE SEQ`, sent as the event's message) the server answered 202 for. */
  acked: Set<string>
  /** Event ids posted whose reply was not 202 or never came. */
  unacked: Set<string>
  /** Largest delay of the scheduler behind a request's due time, in ms. */
  maxLagMs: number
}

const pctHex = (hex: string) => hex.replace(/../g, '%$&')

function emptyStats(): KindStats {
  return { sent: 0, status: {}, errors: {}, late: 0, latencies: [] }
}

interface Reply {
  status: number
  body: Buffer
}

function call(agent: Agent, url: URL, path: string, body?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = {}
    if (body !== undefined) {
      headers['content-type'] = 'application/json'
      headers['content-length'] = Buffer.byteLength(body)
    }
    const req = request(
      { host: url.hostname, port: url.port, path, method: body === undefined ? 'GET' : 'POST', agent, headers },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }))
        res.on('error', reject)
      },
    )
    req.on('error', reject)
    req.setTimeout(30_000, () => req.destroy(Object.assign(new Error('timed out'), { code: 'TIMEOUT' })))
    req.end(body)
  })
}

export async function drive(init: DriveInit): Promise<DriveResult> {
  const url = new URL(init.url)
  const agent = new Agent({ keepAlive: true, maxSockets: init.sockets ?? 256 })
  const kinds = { announce: emptyStats(), plan: emptyStats(), event: emptyStats() }
  const acked = new Set<string>()
  const unacked = new Set<string>()
  const n = init.nodes.length
  const busy = new Uint8Array(n * 3)
  const named = new Uint8Array(n)
  const cycles = new Uint32Array(n * 3)
  const hash = pctHex(init.infoHash)
  const inflight = new Set<Promise<void>>()
  let maxLagMs = 0

  const fire = (node: SimNode, i: number, kind: Kind, cycle: number) => {
    const index = Math.floor(i / 3)
    const st = kinds[kind]
    let path: string
    let body: string | undefined
    let id: string | undefined
    if (kind === 'announce') {
      path =
        `/announce?info_hash=${hash}&peer_id=${node.peerId}&port=${node.port}&uploaded=0` +
        `&downloaded=${cycle * 65536}&left=1000000&compact=1${cycle === 0 ? '&event=started' : ''}`
    } else if (kind === 'plan') {
      path = `/api/v1/plan?mac=${node.mac}`
    } else {
      path = '/api/v1/events'
      id = `${node.hostname} ${cycle}`
      body = JSON.stringify({
        node: named[index] ? node.hostname : node.mac,
        step: cycle === 0 ? 'config' : 'download',
        percent: Math.min(99, cycle),
        bytesDown: cycle * 65536,
        rateDown: 1e6,
        peers: 5,
        message: id,
      })
    }
    st.sent++
    const t = performance.now()
    const p = call(agent, url, path, body).then(
      (r) => {
        st.latencies.push(performance.now() - t)
        const failed = kind === 'announce' && r.status === 200 && r.body.includes('failure reason')
        const key = failed ? 'failure' : String(r.status)
        st.status[key] = (st.status[key] ?? 0) + 1
        if (kind === 'plan' && r.status === 200) named[index] = 1
        if (id !== undefined) (r.status === 202 ? acked : unacked).add(id)
      },
      (e: NodeJS.ErrnoException) => {
        const code = e.code ?? e.message
        st.errors[code] = (st.errors[code] ?? 0) + 1
        if (id !== undefined) unacked.add(id)
      },
    )
    busy[i] = 1
    const done = p.finally(() => {
      busy[i] = 0
      inflight.delete(done)
    })
    inflight.add(done)
  }

  const perPeriod = n * 3
  const gap = init.periodMs / perPeriod
  const t0 = performance.now()
  const end = t0 + init.seconds * 1000
  let k = 0
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now()
      while (t0 + k * gap <= now) {
        const due = t0 + k * gap
        if (due >= end || init.signal?.aborted) return resolve()
        maxLagMs = Math.max(maxLagMs, now - due)
        // Slot s of a period: node s / 3, request kind s % 3.
        const s = k % perPeriod
        const node = init.nodes[Math.floor(s / 3)] as SimNode
        const kind = KINDS[s % 3] as Kind
        if (busy[s]) kinds[kind].late++
        else fire(node, s, kind, cycles[s] as number)
        cycles[s] = (cycles[s] as number) + 1
        k++
      }
      setTimeout(tick, Math.max(0, t0 + k * gap - now))
    }
    tick()
  })
  while (inflight.size > 0) await Promise.all([...inflight])
  agent.destroy()
  const slots = Math.ceil((init.seconds * 1000) / gap / 3)
  return { seconds: (performance.now() - t0) / 1000, slots, kinds, acked, unacked, maxLagMs }
}

export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return Number.NaN
  const s = Float64Array.from(xs).sort()
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] as number
}

/** Replies with status 500-599, over all kinds. */
export function serverErrors(r: DriveResult): number {
  let total = 0
  for (const k of KINDS) for (const [s, c] of Object.entries(r.kinds[k].status)) if (/^5\d\d$/.test(s)) total += c
  return total
}
