// An iperf-like TCP probe between two hosts of a fleet: a Node receiver and
// sender, each a child process in its host's namespace (started as
// fleetsim/probe-main.ts). The rate counts the bytes after the first arrival, so
// the token bucket's initial burst does not inflate it.
import { connect, createServer } from 'node:net'
import { errors } from '../common/errors.ts'
import type { Host } from './host.ts'

export interface ProbeResult {
  bytes: number
  seconds: number
  bps: number
}

// The program the probe runs in each namespace (never imported: a bundle of
// the CLI must not start it).
const MAIN = new URL('./probe-main.ts', import.meta.url).pathname
const CHUNK = 64 * 1024

export function receive(port: number): void {
  const srv = createServer((sock) => {
    let first = 0
    let last = 0
    let bytes = 0
    let firstChunk = 0
    sock.on('data', (c: Buffer) => {
      const now = performance.now()
      if (first === 0) {
        first = now
        firstChunk = c.length
      }
      last = now
      bytes += c.length
    })
    sock.on('end', () => {
      const seconds = (last - first) / 1000
      const bps = seconds > 0 ? ((bytes - firstChunk) * 8) / seconds : 0
      process.stdout.write(`${JSON.stringify({ bytes, seconds, bps })}\n`)
      sock.end()
      srv.close()
    })
  })
  srv.listen(port, '0.0.0.0', () => process.stdout.write('listening\n'))
}

export function send(host: string, port: number, total: number): void {
  const buf = Buffer.alloc(CHUNK, 0x5a)
  const sock = connect(port, host)
  let sent = 0
  const pump = () => {
    while (sent < total) {
      const n = Math.min(CHUNK, total - sent)
      sent += n
      if (!sock.write(n === CHUNK ? buf : buf.subarray(0, n))) return sock.once('drain', pump)
    }
    sock.end()
  }
  sock.on('connect', pump)
  sock.on('error', (e) => {
    process.stderr.write(`${e.message}\n`)
    process.exit(1)
  })
}

/** Sends `bytes` from one host to another over TCP and returns the rate the receiver saw. */
export async function probe(from: Host, to: Host, bytes: number, port = 5201): Promise<ProbeResult> {
  const rx = to.spawn(process.execPath, [MAIN, 'recv', String(port)], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  rx.stderr?.on('data', (c: Buffer) => {
    err += c.toString()
  })
  const done = new Promise<number | null>((resolve) => rx.once('close', resolve))
  await new Promise<void>((resolve, reject) => {
    rx.stdout?.on('data', (c: Buffer) => {
      out += c.toString()
      if (out.includes('listening\n')) resolve()
    })
    rx.once('close', () => reject(errors.tool('probe receiver', `on ${to.name} it ended: ${err.trim()}`)))
  })
  const tx = await from.exec(process.execPath, [MAIN, 'send', to.ip, String(port), String(bytes)])
  if (tx.code !== 0) {
    rx.kill('SIGKILL')
    throw errors.tool('probe sender', `on ${from.name}: ${tx.stderr.trim()}`)
  }
  await done
  const line = out.split('\n').find((l) => l.startsWith('{'))
  if (line === undefined) throw errors.tool('probe receiver', `on ${to.name} it printed no result: ${err.trim()}`)
  return JSON.parse(line) as ProbeResult
}
