// Start-up errors say what is wrong, and SIGTERM stops a real serve process.
import { spawn } from 'node:child_process'
import { mkdir } from 'node:fs/promises'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { Store } from '../../seeder/index.ts'
import { BIN } from '../support/cli.ts'
import { tempDir } from '../support/tmp.ts'
import { freePort, packedStore, startServe } from './harness.ts'

const cleanups: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

describe('serve start-up', () => {
  it('refuses a missing store', async () => {
    const dir = await tempDir()
    await expect(startServe(new Store(join(dir, 'nope')))).rejects.toMatchObject({ code: 'IMGSWARM_ERR_STORE_MISSING' })
  })

  it('refuses a store without a signing key', async () => {
    const dir = await tempDir()
    await mkdir(join(dir, 'store'))
    await expect(startServe(new Store(join(dir, 'store')))).rejects.toMatchObject({ code: 'IMGSWARM_ERR_KEY_MISSING' })
  })

  it('says which port is in use', async () => {
    const dir = await tempDir()
    const { store } = await packedStore(dir, 1)
    const port = await freePort()
    const blocker = createServer()
    await new Promise<void>((r) => blocker.listen(port, '127.0.0.1', r))
    cleanups.push(() => new Promise<void>((r) => blocker.close(() => r())))
    const err = await startServe(store, { port, publicUrl: `http://127.0.0.1:${port}`, udp: false }).catch((e) => e)
    expect(err).toMatchObject({ code: 'IMGSWARM_ERR_PORT_IN_USE' })
    expect(String(err.message)).toContain(String(port))
  })

  it('runs as a process, answers health, and stops gracefully on SIGTERM', async () => {
    const dir = await tempDir()
    const { store } = await packedStore(dir, 1)
    const port = await freePort()
    const child = spawn(
      BIN,
      ['serve', '--store', store.root, '--host', '127.0.0.1', '--port', String(port), '--torrent-port', '0'],
      {
        env: { ...process.env, IMGSWARM_CONFIG: 'none', IMGSWARM_FROM_SOURCE: '1' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    )
    cleanups.push(() => {
      child.kill('SIGKILL')
    })
    let log = ''
    child.stderr.on('data', (d) => {
      log += String(d)
    })
    child.stdout.on('data', (d) => {
      log += String(d)
    })
    const deadline = Date.now() + 60_000
    while (!log.includes('imgswarm serve is up') && Date.now() < deadline && child.exitCode === null) {
      await new Promise((r) => setTimeout(r, 100))
    }
    expect(log).toContain('imgswarm serve is up')
    const health = await fetch(`http://127.0.0.1:${port}/api/v1/health`)
    expect(health.status).toBe(200)
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)))
    child.kill('SIGTERM')
    expect(await exited).toBe(0)
    expect(log).toContain('shutting down')
  })
})
