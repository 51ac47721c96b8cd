// The live stream (GET /api/v1/stream, Server-Sent Events). Changes are
// only marked as they happen; a 1 s tick sends each changed node and install
// once, serialised once for all clients, and a 2 s tick sends the fleet
// totals. With no client connected nothing is tracked and no timer runs, so
// 500 nodes posting every 3 s cost the stream nothing until someone watches.
// A stream opened on a dashboard session ends when that session does (logout
// at once, expiry within a fleet tick): the browser's reconnect then gets 401.
import type { ServerResponse } from 'node:http'
import type { FleetSummary, InstallRow, NodeRow } from './types.ts'

export interface StreamSource {
  nodes(pks: Iterable<number>): NodeRow[]
  install(id: number): InstallRow | undefined
  fleet(): FleetSummary
}

/** A client that cannot keep up (this much unsent) is dropped; it reconnects and reads the lists again. */
const MAX_BUFFERED = 4 * 1024 * 1024
const HEARTBEAT_MS = 15_000

export class StreamHub {
  readonly #src: StreamSource
  /** Each client, with the check that its credentials still hold (none for the bearer token, which cannot end). */
  readonly #clients = new Map<ServerResponse, (() => boolean) | undefined>()
  readonly #nodes = new Set<number>()
  readonly #installs = new Set<number>()
  readonly #removed = new Set<string>()
  #tick: NodeJS.Timeout | undefined
  #fleetTick: NodeJS.Timeout | undefined
  #beat: NodeJS.Timeout | undefined
  readonly nodeMs: number
  readonly fleetMs: number

  constructor(src: StreamSource, opts: { nodeMs?: number; fleetMs?: number } = {}) {
    this.#src = src
    this.nodeMs = opts.nodeMs ?? 1000
    this.fleetMs = opts.fleetMs ?? 2000
  }

  get clients(): number {
    return this.#clients.size
  }

  nodeChanged(pk: number): void {
    if (this.#clients.size > 0) this.#nodes.add(pk)
  }

  installChanged(id: number): void {
    if (this.#clients.size > 0) this.#installs.add(id)
  }

  nodeRemoved(id: string): void {
    if (this.#clients.size > 0) this.#removed.add(id)
  }

  /** Takes over a response as an event stream until the client goes away, or `valid()` turns false. */
  attach(res: ServerResponse, valid?: () => boolean): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    })
    res.write(`retry: 2000\n\n`)
    this.#clients.set(res, valid)
    res.on('close', () => this.#detach(res))
    res.write(frame('fleet', this.#src.fleet()))
    this.#startTimers()
  }

  close(): void {
    for (const c of this.#clients.keys()) c.end()
    this.#clients.clear()
    this.#stopTimers()
  }

  /** Ends the streams whose session has ended. */
  revalidate(): void {
    for (const [c, valid] of this.#clients) {
      if (valid && !valid()) {
        this.#clients.delete(c)
        c.end()
      }
    }
    if (this.#clients.size === 0) this.#detachAll()
  }

  #detach(res: ServerResponse): void {
    this.#clients.delete(res)
    if (this.#clients.size === 0) this.#detachAll()
  }

  #detachAll(): void {
    this.#stopTimers()
    this.#nodes.clear()
    this.#installs.clear()
    this.#removed.clear()
  }

  #startTimers(): void {
    if (this.#tick) return
    this.#tick = setInterval(() => this.#flushChanges(), this.nodeMs)
    this.#fleetTick = setInterval(() => {
      this.revalidate()
      this.#broadcast(frame('fleet', this.#src.fleet()))
    }, this.fleetMs)
    this.#beat = setInterval(() => this.#broadcast(': keep-alive\n\n'), HEARTBEAT_MS)
    for (const t of [this.#tick, this.#fleetTick, this.#beat]) t.unref()
  }

  #stopTimers(): void {
    for (const t of [this.#tick, this.#fleetTick, this.#beat]) if (t) clearInterval(t)
    this.#tick = this.#fleetTick = this.#beat = undefined
  }

  #flushChanges(): void {
    if (this.#nodes.size + this.#installs.size + this.#removed.size === 0) return
    const parts: string[] = []
    for (const row of this.#src.nodes(this.#nodes)) parts.push(frame('node', row))
    for (const id of this.#installs) {
      const r = this.#src.install(id)
      if (r) parts.push(frame('install', r))
    }
    for (const id of this.#removed) parts.push(frame('removed', { id }))
    this.#nodes.clear()
    this.#installs.clear()
    this.#removed.clear()
    this.#broadcast(parts.join(''))
  }

  #broadcast(text: string): void {
    if (text === '') return
    for (const c of this.#clients.keys()) {
      if (c.writableLength > MAX_BUFFERED) {
        c.destroy()
        continue
      }
      c.write(text)
    }
  }
}

const frame = (event: string, data: unknown) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`
