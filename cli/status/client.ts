// `imgswarm status` talking to the server: the fleet API with the admin
// token, and the SSE stream read line by line. Errors say what to do next.
import { errors } from '../../common/errors.ts'

export { type FleetSummary, NODE_STATES, type NodeRow, type NodeState } from '../../common/fleet.ts'

export interface StatusServer {
  url: string
  token: string | undefined
}

const TOKEN_HINT =
  'pass --token TOKEN or set IMGSWARM_TOKEN (the token is in STORE/keys/admin.token on the server), or run imgswarm status on the server as a user who can read that file'

function headers(s: StatusServer, accept: string): Record<string, string> {
  return { accept, ...(s.token ? { authorization: `Bearer ${s.token}` } : {}) }
}

async function open(s: StatusServer, path: string, accept: string, signal?: AbortSignal): Promise<Response> {
  const url = `${s.url}${path}`
  let res: Response
  try {
    res = await fetch(url, { headers: headers(s, accept), ...(signal ? { signal } : {}) })
  } catch (e) {
    if ((e as Error).name === 'AbortError') throw e
    const cause = (e as { cause?: { code?: string; message?: string } }).cause
    throw errors.statusServer(
      s.url,
      `unreachable: ${cause?.code ?? cause?.message ?? (e as Error).message}`,
      'check the URL (--server, IMGSWARM_SERVER_URL or server_url in the config) and that imgswarm serve runs there',
    )
  }
  if (res.status === 401) {
    await res.body?.cancel()
    throw errors.statusServer(
      s.url,
      s.token ? 'the server refused the admin token' : 'the server wants the admin token and none was found',
      TOKEN_HINT,
    )
  }
  if (res.status === 404) {
    await res.body?.cancel()
    throw errors.statusServer(
      url,
      'not found: this server has no fleet API',
      'update imgswarm on the server (the fleet API came with the dashboard), or check the URL',
    )
  }
  if (!res.ok) {
    const body = await res.text().catch(() => '')
    let msg = body.slice(0, 300)
    try {
      msg = (JSON.parse(body) as { error?: { message?: string } }).error?.message ?? msg
    } catch {}
    throw errors.statusServer(url, `HTTP ${res.status}: ${msg}`, 'see the server log')
  }
  return res
}

export async function getJson<T>(s: StatusServer, path: string, signal?: AbortSignal): Promise<T> {
  const res = await open(s, path, 'application/json', signal)
  try {
    return (await res.json()) as T
  } catch {
    throw errors.badResponse(`${s.url}${path}`, 'the answer is not JSON')
  }
}

export function nodesPath(o: { state?: string; group?: string }): string {
  const q = new URLSearchParams()
  if (o.state) q.set('state', o.state)
  if (o.group) q.set('group', o.group)
  const qs = q.toString()
  return `/api/v1/nodes${qs ? `?${qs}` : ''}`
}

export interface StreamEvent {
  event: string
  data: unknown
}

/**
 * Connects to the SSE stream; resolves once the server answered, so that a
 * snapshot fetched afterwards misses nothing (events meanwhile wait in the
 * body). The sequence ends when the server closes it or `signal` aborts.
 */
export async function openStream(s: StatusServer, signal: AbortSignal): Promise<AsyncGenerator<StreamEvent>> {
  const res = await open(s, '/api/v1/stream', 'text/event-stream', signal)
  return parse(s, res, signal)
}

async function* parse(s: StatusServer, res: Response, signal: AbortSignal): AsyncGenerator<StreamEvent> {
  if (!res.body) return
  const decoder = new TextDecoder()
  let buf = ''
  let event = 'message'
  let data: string[] = []
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buf += decoder.decode(chunk, { stream: true })
      if (buf.length > 4 * 1024 * 1024) throw errors.badResponse(`${s.url}/api/v1/stream`, 'an event line over 4 MiB')
      let nl = buf.indexOf('\n')
      while (nl >= 0) {
        const line = buf.slice(0, nl).replace(/\r$/, '')
        buf = buf.slice(nl + 1)
        nl = buf.indexOf('\n')
        if (line === '') {
          if (data.length > 0) {
            try {
              yield { event, data: JSON.parse(data.join('\n')) }
            } catch {
              // Not JSON: not one of ours; skip it.
            }
          }
          event = 'message'
          data = []
        } else if (line.startsWith(':')) {
          // comment / keep-alive
        } else {
          const colon = line.indexOf(':')
          const field = colon < 0 ? line : line.slice(0, colon)
          const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '')
          if (field === 'event') event = value
          else if (field === 'data') data.push(value)
        }
      }
    }
  } catch (e) {
    if ((e as Error).name === 'AbortError' || signal.aborted) return
    throw e
  }
}
