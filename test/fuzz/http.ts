// Raw HTTP for the API and announce campaigns: any bytes as a body, any
// content type, a keep-alive agent, and the judgement every API answer must
// pass (2xx, or a 4xx with a coded error body; never 5xx, never a hang-up).
import { Agent, request } from 'node:http'

const agent = new Agent({ keepAlive: true, maxSockets: 8 })

export interface Reply {
  status: number
  body: Buffer
  type: string
}

export function send(
  base: string,
  method: string,
  path: string,
  opts: { headers?: Record<string, string>; body?: Buffer | string } = {},
): Promise<Reply> {
  const u = new URL(base)
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, method, path, agent, headers: opts.headers }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          body: Buffer.concat(chunks),
          type: String(res.headers['content-type'] ?? ''),
        }),
      )
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(opts.body)
  })
}

/** undefined when the answer is acceptable, else what is wrong with it. */
export function judgeApi(r: Reply): string | undefined {
  if (r.status >= 500) return `HTTP ${r.status}: ${r.body.toString().slice(0, 200)}`
  if (r.status < 200 || (r.status >= 300 && r.status < 400)) return `unexpected HTTP ${r.status}`
  let v: unknown
  try {
    v = JSON.parse(r.body.toString())
  } catch {
    return `HTTP ${r.status} with a body that is not JSON: ${r.body.toString().slice(0, 100)}`
  }
  if (r.status >= 400) {
    const e = (v as { error?: { code?: unknown; message?: unknown } })?.error
    if (typeof e?.code !== 'string' || !e.code.startsWith('IMGSWARM_ERR_') || typeof e.message !== 'string') {
      return `HTTP ${r.status} without a coded error body: ${r.body.toString().slice(0, 200)}`
    }
  }
  return undefined
}
