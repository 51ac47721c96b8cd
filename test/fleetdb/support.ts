// A real serve on loopback (port 0 style: a free port) over a small packed
// store, with its admin token; and a reader of the SSE stream over real HTTP.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach } from 'vitest'
import { packedStore, type Running, startServe } from '../serve/harness.ts'
import { cliAsync } from '../support/cli.ts'
import { tempDir } from '../support/tmp.ts'

export interface Served extends Running {
  dir: string
  storeRoot: string
  token: string
  auth: Record<string, string>
}

const running: Running[] = []
afterEach(async () => {
  while (running.length > 0) await (running.pop() as Running).stop()
})

export async function serve(): Promise<Served> {
  const dir = await tempDir('imgswarm-fleetapi-')
  const { store } = await packedStore(dir, 1)
  const r = await startServe(store, { udp: false })
  running.push(r)
  const token = (await readFile(join(store.root, 'keys', 'admin.token'), 'utf8')).trim()
  return { ...r, dir, storeRoot: store.root, token, auth: { authorization: `Bearer ${token}` } }
}

export async function postEvent(url: string, e: Record<string, unknown>): Promise<number> {
  const r = await fetch(`${url}/api/v1/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(e),
  })
  await r.arrayBuffer()
  return r.status
}

export interface SseEvent {
  event: string
  data: unknown
}

/** Reads an SSE stream until `until` returns true for an event (or the abort fires). */
export async function readStream(
  url: string,
  headers: Record<string, string>,
  until: (e: SseEvent, all: SseEvent[]) => boolean,
  signal: AbortSignal,
  onOpen?: () => Promise<void>,
): Promise<SseEvent[]> {
  const res = await fetch(`${url}/api/v1/stream`, { headers, signal })
  if (res.status !== 200 || !res.body) throw new Error(`stream: HTTP ${res.status}`)
  const all: SseEvent[] = []
  const dec = new TextDecoder()
  let buf = ''
  let opened = false
  for await (const chunk of res.body) {
    buf += dec.decode(chunk as Uint8Array, { stream: true })
    let i = buf.indexOf('\n\n')
    while (i >= 0) {
      const block = buf.slice(0, i)
      buf = buf.slice(i + 2)
      i = buf.indexOf('\n\n')
      const ev = /^event: (.*)$/m.exec(block)?.[1]
      const data = /^data: (.*)$/m.exec(block)?.[1]
      if (ev === undefined || data === undefined) continue
      const e = { event: ev, data: JSON.parse(data) as unknown }
      all.push(e)
      if (!opened) {
        opened = true
        await onOpen?.()
      }
      if (until(e, all)) {
        await res.body.cancel().catch(() => undefined)
        return all
      }
    }
  }
  return all
}

// biome-ignore lint/suspicious/noExplicitAny: test reads of JSON the assertions then check
export type Json = any

/** A JSON reply, untyped: the test's expectations check its shape. */
export async function body(r: Response | Promise<Response>): Promise<Json> {
  return (await r).json()
}

/** The real launcher, without blocking this process (the server under test runs in it). */
export const cli = cliAsync
