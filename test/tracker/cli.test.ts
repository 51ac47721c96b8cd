// `imgswarm tracker` as a person runs it: a child process on port 0 that says
// where it listens, serves announces, and stops cleanly on SIGTERM.
import { type ChildProcess, spawn } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { BIN } from '../support/cli.ts'
import { tempDir } from '../support/tmp.ts'
import { announce, cleanup, failure, get, hash, UdpProbe, udpReply } from './helpers.ts'

const ENV = { ...process.env, IMGSWARM_FROM_SOURCE: '1', IMGSWARM_CONFIG: 'none' }
interface Running {
  child: ChildProcess
  stdout: () => string
  stderr: () => string
  exited: Promise<number | null>
}

function run(args: string[]): Running {
  const child = spawn(BIN, ['tracker', ...args], { env: ENV, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  child.stdout?.on('data', (d: Buffer) => {
    out += d
  })
  child.stderr?.on('data', (d: Buffer) => {
    err += d
  })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  cleanup(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  })
  return { child, stdout: () => out, stderr: () => err, exited }
}

async function waitFor(r: Running, re: RegExp, ms = 30_000): Promise<RegExpExecArray> {
  const end = Date.now() + ms
  for (;;) {
    const m = re.exec(r.stdout())
    if (m) return m
    if (r.child.exitCode !== null || Date.now() > end)
      throw new Error(`no ${re} in output:\n${r.stdout()}\n${r.stderr()}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

describe('imgswarm tracker', () => {
  it('says where it listens, serves HTTP and UDP announces, and exits 0 on SIGTERM', async () => {
    const r = run(['--host', '127.0.0.1', '--port', '0', '--log-level', 'warn'])
    const http = Number((await waitFor(r, /http:\/\/127\.0\.0\.1:(\d+)\/announce/))[1])
    const udp = Number((await waitFor(r, /udp:\/\/127\.0\.0\.1:(\d+)/))[1])
    expect(r.stdout()).toMatch(/open tracker/)
    expect(failure(await announce(http, { infoHash: hash(1), peer: 1, port: 6881 }))).toBeUndefined()
    const p = await UdpProbe.open()
    expect(udpReply(await p.request(udp, p.announcePacket(await p.connect(udp), hash(1), 2)))?.action).toBe(1)

    r.child.kill('SIGTERM')
    const deadline = new Promise<string>((resolve) => setTimeout(() => resolve('still running after 10 s'), 10_000))
    expect(await Promise.race([r.exited, deadline])).toBe(0)
    expect(r.stderr()).toMatch(/SIGTERM, stopping/)
  })

  it('--allow serves only the listed info hashes', async () => {
    const dir = await tempDir()
    const file = join(dir, 'allow.txt')
    await writeFile(file, `# test\n${hash(2)}\n`)
    const r = run(['--host', '127.0.0.1', '--port', '0', '--no-udp', '--allow', file, '--log-level', 'warn'])
    const http = Number((await waitFor(r, /:(\d+)\/announce/))[1])
    expect(r.stdout()).not.toMatch(/udp:/)
    expect(r.stdout()).toMatch(/1 info hashes/)
    expect(failure(await announce(http, { infoHash: hash(2), peer: 1, port: 6881 }))).toBeUndefined()
    expect(failure(await announce(http, { infoHash: hash(3), peer: 1, port: 6881 }))).toMatch(/allow-list/)
    r.child.kill('SIGINT')
    expect(await r.exited).toBe(0)
  })

  it('--allow-network answers only peers from the given networks; a bad network is a usage error', async () => {
    const r = run([
      '--host',
      '127.0.0.1',
      '--port',
      '0',
      '--no-udp',
      '--allow-network',
      '127.0.0.1/32',
      '--log-level',
      'warn',
    ])
    const http = Number((await waitFor(r, /:(\d+)\/announce/))[1])
    expect(r.stdout()).toMatch(/networks {2}127\.0\.0\.1\/32 \(requests from elsewhere refused\)/)
    expect(failure(await announce(http, { infoHash: hash(2), peer: 1, port: 6881 }))).toBeUndefined()
    expect(failure(await announce(http, { infoHash: hash(2), peer: 2, port: 6882 }, '127.0.0.2'))).toMatch(
      /address not allowed/,
    )
    expect((await get(http, '/stats', '127.0.0.2')).status).toBe(403)
    expect((await get(http, '/stats')).status).toBe(200)
    r.child.kill('SIGINT')
    expect(await r.exited).toBe(0)

    const bad = run(['--port', '0', '--allow-network', '10.0.0.0/40'])
    expect(await bad.exited).toBe(2)
    expect(bad.stderr()).toMatch(/IMGSWARM_ERR_NETWORK_LIST.*10\.0\.0\.0\/40.*prefix length must be 0 to 32/)
  })

  it('a port in use is a coded error that names the port and what to do', async () => {
    const blocker = createServer()
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve))
    cleanup(() => new Promise<void>((resolve) => blocker.close(() => resolve())))
    const port = (blocker.address() as { port: number }).port
    const r = run(['--host', '127.0.0.1', '--port', String(port), '--log-level', 'warn'])
    expect(await r.exited).toBe(1)
    expect(r.stderr()).toMatch(new RegExp(`IMGSWARM_ERR_LISTEN.*port ${port}`))
    expect(r.stderr()).toMatch(/what to do: .*--port/)
  })

  it('a bad flag value is a usage error', async () => {
    const r = run(['--port', 'http'])
    expect(await r.exited).toBe(2)
    expect(r.stderr()).toMatch(/--port "http"/)
  })
})
