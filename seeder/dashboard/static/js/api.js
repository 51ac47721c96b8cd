// Talking to the server: JSON in and out, the session cookie rides along
// (same origin), and state changes carry a JSON body, which the server's
// CSRF rule asks for.
export class ApiError extends Error {
  constructor(status, body) {
    const e = body?.error ?? {}
    super(e.message ?? `HTTP ${status}`)
    this.status = status
    this.code = e.code ?? `HTTP_${status}`
    this.hint = e.hint
  }
}

async function call(method, url, body) {
  const init = { method, credentials: 'same-origin', headers: { accept: 'application/json' } }
  if (method !== 'GET') {
    init.headers['content-type'] = 'application/json'
    init.body = JSON.stringify(body ?? {})
  }
  let res
  try {
    res = await fetch(url, init)
  } catch (e) {
    throw new ApiError(0, { error: { code: 'NETWORK', message: `the server did not answer (${e.message})` } })
  }
  const text = await res.text()
  let json
  try {
    json = text ? JSON.parse(text) : {}
  } catch {
    json = { error: { message: text.slice(0, 200) } }
  }
  if (!res.ok) throw new ApiError(res.status, json)
  return json
}

export const api = {
  get: (url) => call('GET', url),
  post: (url, body) => call('POST', url, body),
  del: (url) => call('DELETE', url),
  session: () => call('GET', '/api/v1/session'),
  login: (body) => call('POST', '/api/v1/login', body),
  logout: () => call('POST', '/api/v1/logout'),
  nodes: () => call('GET', '/api/v1/nodes'),
  node: (id) => call('GET', `/api/v1/nodes/${encodeURIComponent(id)}`),
  nodeEvents: (id, after) => call('GET', `/api/v1/nodes/${encodeURIComponent(id)}/events?after=${after}&limit=200`),
  fleet: () => call('GET', '/api/v1/fleet'),
  swarms: () => call('GET', '/api/v1/swarms'),
  schedules: () => call('GET', '/api/v1/schedules'),
  installs: (limit = 200) => call('GET', `/api/v1/installs?limit=${limit}`),
  reimage: (id) => call('POST', `/api/v1/nodes/${encodeURIComponent(id)}/reimage`),
  cancel: (id) => call('POST', `/api/v1/nodes/${encodeURIComponent(id)}/cancel`),
  adopt: (id, group) => call('POST', `/api/v1/nodes/${encodeURIComponent(id)}/adopt`, { group }),
  remove: (id) => call('DELETE', `/api/v1/nodes/${encodeURIComponent(id)}`),
  reimageGroup: (group) => call('POST', `/api/v1/groups/${encodeURIComponent(group)}/reimage`),
}
