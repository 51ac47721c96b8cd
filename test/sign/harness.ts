// Signed plans on real processes: a real `serve`, a real man in the middle
// (an HTTP server on its own port that forwards to serve and may change the
// plan answer), and real `imgswarm install --target-dir` clients, optionally
// with their clock shifted by libfaketime (the Debian package faketime).
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll } from 'vitest'
import { PLAN_SIGNATURE_HEADER } from '../../common/plan-signature.ts'
import { type ImageServer, imageServer, installNode, type NodeRun, nodeArgs } from '../install/harness.ts'

export const FAKETIME_LIB = '/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1'
export const haveFaketime = existsSync(FAKETIME_LIB)

/** Two nodes, by host name and by MAC, so a plan for one can be replayed to the other. */
export const PLANS = `
[defaults]
image = "base"
post = "none"

[[node]]
hostname = "n1"
mac = "52:54:00:00:00:01"

[[node]]
hostname = "n2"
mac = "52:54:00:00:00:02"
`

/** A plan answer as the man in the middle holds it. */
export interface PlanAnswer {
  status: number
  headers: Record<string, string>
  body: Buffer
}

/**
 * What the man in the middle does with a plan request: the query it forwards
 * (change it to ask for another node) and the answer it returns.
 */
export interface Tamper {
  query?(q: URLSearchParams): void
  answer?(a: PlanAnswer, q: URLSearchParams): PlanAnswer | Promise<PlanAnswer>
}

export interface Mitm {
  url: string
  /** Paths the client asked for, in order (no query). */
  paths: string[]
  tamper: Tamper
  close(): Promise<void>
}

async function forward(
  upstream: string,
  req: IncomingMessage,
  path: string,
): Promise<{ status: number; headers: Headers; body: Buffer }> {
  const chunks: Buffer[] = []
  for await (const c of req) chunks.push(c as Buffer)
  const body = Buffer.concat(chunks)
  const headers: Record<string, string> = {}
  for (const [k, v] of Object.entries(req.headers)) {
    if (typeof v === 'string' && !['host', 'connection', 'content-length', 'accept-encoding'].includes(k))
      headers[k] = v
  }
  const res = await fetch(`${upstream}${path}`, {
    method: req.method ?? 'GET',
    headers,
    redirect: 'manual',
    ...(body.length > 0 ? { body } : {}),
  })
  return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) }
}

function send(res: ServerResponse, a: PlanAnswer): void {
  const h = { ...a.headers }
  delete h['content-length']
  delete h['transfer-encoding']
  delete h['content-encoding']
  delete h.connection
  delete h['keep-alive']
  res.writeHead(a.status, { ...h, 'content-length': String(a.body.length) }).end(a.body)
}

/** A man in the middle in front of `upstream`: forwards everything, applies `tamper` to GET /api/v1/plan. */
export async function manInTheMiddle(upstream: string, tamper: Tamper = {}): Promise<Mitm> {
  const paths: string[] = []
  const proxy: Mitm = { url: '', paths, tamper, close: async () => {} }
  const server: Server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://mitm')
    paths.push(u.pathname)
    void (async () => {
      const isPlan = u.pathname === '/api/v1/plan'
      if (isPlan) proxy.tamper.query?.(u.searchParams)
      const q = u.searchParams.toString()
      const r = await forward(upstream, req, `${u.pathname}${q === '' ? '' : `?${q}`}`)
      let a: PlanAnswer = { status: r.status, headers: Object.fromEntries(r.headers), body: r.body }
      if (isPlan && proxy.tamper.answer) a = await proxy.tamper.answer(a, u.searchParams)
      send(res, a)
    })().catch((e: unknown) => {
      if (!res.headersSent) res.writeHead(502).end(String(e))
      else res.destroy()
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  proxy.close = () =>
    new Promise<void>((r) => {
      server.close(() => r())
      server.closeAllConnections()
    })
  return proxy
}

/** A genuine plan answer, fetched now from serve for a node and a nonce of the man in the middle's choosing. */
export async function capturePlan(serveUrl: string, query: string): Promise<PlanAnswer> {
  const res = await fetch(`${serveUrl}/api/v1/plan?${query}`)
  return { status: res.status, headers: Object.fromEntries(res.headers), body: Buffer.from(await res.arrayBuffer()) }
}

export function signatureOf(a: PlanAnswer): string | undefined {
  return a.headers[PLAN_SIGNATURE_HEADER]
}

export interface Node {
  run: NodeRun
  target: string
  /** What is in the target directory after the run. */
  entries: string[]
}

/**
 * One `imgswarm install --target-dir` into a fresh, empty directory.
 * `clockShift` (like "+30m", "-30m") runs the client under libfaketime.
 */
export async function installVia(
  dir: string,
  server: string,
  pubkey: string,
  o: { hostname?: string; mac?: string; ip?: string; clockShift?: string; name: string },
): Promise<Node> {
  const target = join(dir, `target-${o.name}`)
  await mkdir(target)
  const extra = [...(o.mac === undefined ? [] : ['--mac', o.mac]), ...(o.ip === undefined ? [] : ['--ip', o.ip])]
  const args = nodeArgs({ url: server, pubkey, targetDir: target, hostname: o.hostname ?? 'n1', extra })
  const env: NodeJS.ProcessEnv =
    o.clockShift === undefined
      ? {}
      : { LD_PRELOAD: FAKETIME_LIB, FAKETIME: o.clockShift, FAKETIME_DONT_FAKE_MONOTONIC: '1' }
  const run = await installNode(args, env).result
  return { run, target, entries: await readdir(target) }
}

export async function signServer(dir: string): Promise<ImageServer> {
  return imageServer(dir, { dataMb: 1, plans: PLANS })
}

export interface SignSuite {
  /** The suite's temp folder; '' until beforeAll ran. */
  dir: string
  /** The signing serve (beforeAll); undefined when the suite does not run. */
  server: ImageServer
  /** The test's man in the middle, closed after each test. */
  proxy: Mitm | undefined
}

/** One signing serve per file (started only when `enabled`), removed after all; the proxy closed after each test. */
export function signSuite(prefix: string, enabled: boolean): SignSuite {
  const s = { dir: '', server: undefined as unknown as ImageServer, proxy: undefined as Mitm | undefined }
  beforeAll(async () => {
    if (!enabled) return
    s.dir = await mkdtemp(join(process.env.IMGSWARM_TEST_TMP ?? tmpdir(), prefix))
    s.server = await signServer(s.dir)
  }, 120_000)
  afterAll(async () => {
    await s.server?.running.stop()
    if (s.dir !== '') await rm(s.dir, { recursive: true, force: true })
  })
  afterEach(async () => {
    await s.proxy?.close()
    s.proxy = undefined
  })
  return s
}
