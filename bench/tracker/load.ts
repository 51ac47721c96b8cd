// The load: wrk (C, one thread) driving keep-alive HTTP announces through a
// Lua script that picks a random swarm and peer per request, so both trackers
// see the same mix of swarms, peers and compact replies.
import { spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'

export interface LoadSpec {
  hashes: string[]
  peersPerSwarm: number
  connections: number
  seconds: number
}

export interface LoadResult {
  requests: number
  /** Failed connects, writes, timeouts and non-2xx replies. */
  errors: number
  /** Connections the server closed (wrk's "read" errors): opentracker closes after every reply. */
  closes: number
  perSecond: number
  p50ms: number
  p99ms: number
}

const pctHex = (hex: string) => hex.replace(/../g, '%$&')

export function writeScript(dir: string, spec: LoadSpec): string {
  const file = join(dir, 'announce.lua')
  writeFileSync(
    file,
    `local hashes = { ${spec.hashes.map((h) => `"${pctHex(h)}"`).join(', ')} }
local peers = ${spec.peersPerSwarm}
request = function()
  local s = math.random(1, #hashes)
  local p = math.random(1, peers)
  local path = "/announce?info_hash=" .. hashes[s] .. "&peer_id=-BN0001-" .. string.format("%012d", s * 100000 + p) ..
    "&port=" .. (10000 + p) .. "&uploaded=0&downloaded=0&left=1000&compact=1&numwant=50"
  return wrk.format("GET", path)
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %d %d %d %d %d %d\\n", summary.requests, summary.duration,
    e.connect + e.write + e.timeout + e.status, e.read, latency:percentile(50), latency:percentile(99)))
end
`,
  )
  return file
}

export function runLoad(port: number, script: string, spec: LoadSpec): Promise<LoadResult> {
  const args = ['-t1', `-c${spec.connections}`, `-d${spec.seconds}s`, '--timeout', '5s', '-s', script]
  return new Promise((resolve, reject) => {
    const child = spawn('wrk', [...args, `http://127.0.0.1:${port}`], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.on('data', (d: Buffer) => {
      out += d
    })
    child.stderr.on('data', (d: Buffer) => {
      out += d
    })
    const kill = setTimeout(() => child.kill('SIGKILL'), (spec.seconds + 30) * 1000)
    child.once('error', reject)
    child.once('exit', (code) => {
      clearTimeout(kill)
      const m = /RESULT (\d+) (\d+) (\d+) (\d+) (\d+) (\d+)/.exec(out)
      if (code !== 0 || !m) return reject(new Error(`wrk exited ${code}:\n${out}`))
      const [requests, durationUs, errors, closes, p50, p99] = m.slice(1).map(Number) as number[]
      const seconds = (durationUs as number) / 1e6
      resolve({
        requests: requests as number,
        errors: errors as number,
        closes: closes as number,
        perSecond: (requests as number) / seconds,
        p50ms: (p50 as number) / 1000,
        p99ms: (p99 as number) / 1000,
      })
    })
  })
}
