// A real `imgswarm serve` in its own process on a free loopback port, as the
// benchmarks that measure it from outside use it: keys made first, warnings
// on our stderr (never an undrained pipe, which would stop serve when full).
import { type ChildProcess, spawn } from 'node:child_process'
import { freeLocalPort } from '../common/net.ts'

export const BIN = new URL('../bin/imgswarm', import.meta.url).pathname

export async function startServe(store: string): Promise<{ url: string; child: ChildProcess }> {
  await new Promise<void>((res, rej) => {
    const k = spawn(BIN, ['keys', 'show', '--store', store], {
      stdio: 'ignore',
      env: { ...process.env, IMGSWARM_CONFIG: 'none' },
    })
    k.once('exit', (c) => (c === 0 ? res() : rej(new Error(`keys show exited ${c}`))))
  })
  const port = await freeLocalPort()
  const args = ['serve', '--store', store, '--host', '127.0.0.1', '--port', String(port), '--torrent-port', '0']
  const child = spawn(BIN, [...args, '--no-udp', '--log-level', 'warn'], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, IMGSWARM_CONFIG: 'none' },
  })
  const url = `http://127.0.0.1:${port}`
  for (let i = 0; i < 600; i++) {
    const up = await fetch(`${url}/api/v1/health`).then(
      (r) => r.ok,
      () => false,
    )
    if (up) return { url, child }
    await new Promise((r) => setTimeout(r, 100))
  }
  child.kill('SIGKILL')
  throw new Error('serve did not start')
}
