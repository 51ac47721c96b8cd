// Reaching the server's API from the demo process. On loopback that is
// direct. A fleet's server lives in its own network namespace, which this
// process may have no route into; so a relay in the server's namespace
// listens on a Unix socket (a file: visible from every namespace) and the
// demo forwards a local TCP port to it. The dashboard URL printed is one
// that answers from this machine.
import { createConnection, createServer, type Server } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { errors } from '../../common/errors.ts'
import type { NodeEventInput } from '../../common/events.ts'
import type { DemoHost } from './topology.ts'

// Runs with `node -e` in the server's namespace: Unix socket -> 127.0.0.1:PORT.
const RELAY = `
const net = require('node:net'); const fs = require('node:fs')
const [sock, port] = process.argv.slice(1)
fs.rmSync(sock, { force: true })
net.createServer((c) => {
  const u = net.connect(Number(port), '127.0.0.1')
  c.pipe(u).pipe(c)
  u.on('error', () => c.destroy()); c.on('error', () => u.destroy())
}).listen(sock, () => process.stdout.write('ready\\n'))
`

export interface ApiAccess {
  /** Base URL for this process (and a person on this machine). */
  url: string
  close(): Promise<void>
}

export function directAccess(url: string): ApiAccess {
  return { url, close: async () => undefined }
}

export async function relayAccess(
  server: DemoHost,
  port: number,
  sock: string,
  env: NodeJS.ProcessEnv,
): Promise<ApiAccess> {
  const relay = server.spawn(process.execPath, ['-e', RELAY, sock, String(port)], env)
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(errors.tool('demo API relay', 'did not start within 30 s')), 30_000)
    relay.stdout?.once('data', () => {
      clearTimeout(t)
      resolve()
    })
    relay.once('exit', (code) => {
      clearTimeout(t)
      reject(errors.tool('demo API relay', `exited (${code}) in the server's namespace`))
    })
  })
  const local: Server = createServer((c) => {
    const u = createConnection(sock)
    c.pipe(u).pipe(c)
    u.on('error', () => c.destroy())
    c.on('error', () => u.destroy())
  })
  const listen = (p: number) =>
    new Promise<number>((resolve, reject) => {
      local.once('error', reject)
      local.listen(p, '127.0.0.1', () => {
        local.off('error', reject)
        const a = local.address()
        resolve(typeof a === 'object' && a ? a.port : p)
      })
    })
  // The server's own port number when it is free here, so the URL looks familiar.
  const lport = await listen(port).catch(() => listen(0))
  return {
    url: `http://127.0.0.1:${lport}`,
    close: async () => {
      relay.kill('SIGTERM')
      await new Promise<void>((r) => local.close(() => r()))
    },
  }
}

export interface SeederStatus {
  uploaded: number
}

/** What nodes post (common/events.ts), as the server hands it back. */
export type NodeEvent = NodeEventInput

export class ApiClient {
  readonly #url: string
  readonly #token: string

  constructor(url: string, token: string) {
    this.#url = url
    this.#token = token
  }

  async #get<T>(path: string): Promise<T> {
    const res = await fetch(`${this.#url}${path}`, {
      headers: { authorization: `Bearer ${this.#token}` },
      signal: AbortSignal.timeout(5000),
    })
    if (res.status !== 200) throw new Error(`GET ${path}: ${res.status}`)
    return (await res.json()) as T
  }

  async events(limit: number): Promise<NodeEvent[]> {
    return (await this.#get<{ events: NodeEvent[] }>(`/api/v1/events?limit=${limit}`)).events
  }

  async seederUploaded(): Promise<number> {
    const s = await this.#get<{ status?: { uploaded?: number } }>('/api/v1/seeder')
    return s.status?.uploaded ?? 0
  }

  /** Waits until GET /api/v1/health/ready answers 200 (or `died` rejects). */
  async waitReady(died: Promise<never>, signal: AbortSignal, timeoutMs = 90_000): Promise<void> {
    const end = Date.now() + timeoutMs
    const probe = async () => {
      for (;;) {
        signal.throwIfAborted()
        const ok = await fetch(`${this.#url}/api/v1/health/ready`, { signal: AbortSignal.timeout(2000) }).then(
          (r) => r.status === 200,
          () => false,
        )
        if (ok) return
        if (Date.now() > end) throw errors.tool('imgswarm serve', `not ready after ${timeoutMs / 1000} s`)
        await sleep(250)
      }
    }
    await Promise.race([probe(), died])
  }
}

/** True when `url` answers from this process within a second. */
export async function answers(url: string): Promise<boolean> {
  return fetch(`${url}/api/v1/health`, { signal: AbortSignal.timeout(1000) }).then(
    (r) => r.status === 200,
    () => false,
  )
}
