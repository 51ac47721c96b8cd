// The durability rule: a real `serve` process takes a burst of
// events from concurrent posters and is killed with SIGKILL in the middle.
// After a restart the database passes PRAGMA integrity_check, and every
// event that got a 2xx reply is stored.
import { type ChildProcess, spawn } from 'node:child_process'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { afterEach, describe, expect, it } from 'vitest'
import { freePort, packedStore } from '../serve/harness.ts'
import { BIN } from '../support/cli.ts'
import { tempDir } from '../support/tmp.ts'

const children: ChildProcess[] = []
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
})

async function startServe(storeRoot: string, port: number): Promise<ChildProcess> {
  const child = spawn(
    BIN,
    ['serve', '--store', storeRoot, '--host', '127.0.0.1', '--port', String(port), '--torrent-port', '0', '--no-udp'],
    {
      env: { ...process.env, IMGSWARM_CONFIG: 'none', IMGSWARM_FROM_SOURCE: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
  children.push(child)
  let log = ''
  child.stdout?.on('data', (d) => {
    log += String(d)
  })
  child.stderr?.on('data', (d) => {
    log += String(d)
  })
  const deadline = Date.now() + 90_000
  while (!log.includes('imgswarm serve is up') && Date.now() < deadline && child.exitCode === null) {
    await new Promise((r) => setTimeout(r, 100))
  }
  if (!log.includes('imgswarm serve is up')) throw new Error(`serve did not start:\n${log}`)
  return child
}

describe('fleet database durability', () => {
  it('keeps every acknowledged event through a SIGKILL mid-burst, and stays intact', async () => {
    const dir = await tempDir('imgswarm-fleetkill-')
    const { store } = await packedStore(dir, 1)
    const port = await freePort()
    const url = `http://127.0.0.1:${port}`
    const child = await startServe(store.root, port)

    const acked = new Set<string>()
    let sent = 0
    let failed = 0
    let cutOff = 0
    let killed = false
    const POSTERS = 24
    const poster = async (p: number) => {
      for (let k = 0; !killed; k++) {
        const id = `p${p}-${k}`
        sent++
        try {
          const r = await fetch(`${url}/api/v1/events`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({
              node: `node${String(p).padStart(3, '0')}`,
              step: 'download',
              percent: k % 100,
              message: id,
            }),
          })
          await r.arrayBuffer()
          if (r.status >= 200 && r.status < 300) acked.add(id)
          else failed++
        } catch {
          // Before the kill a failed request is just counted (the poster goes on); after it, the poster stops.
          if (!killed) {
            failed++
            continue
          }
          cutOff++
          return
        }
      }
    }
    const posting = Array.from({ length: POSTERS }, (_, p) => poster(p))
    // Mid-burst: once a good number of events are acknowledged, with requests still in flight.
    while (acked.size < 1500) await new Promise((r) => setTimeout(r, 20))
    const exited = new Promise((r) => child.once('exit', r))
    child.kill('SIGKILL')
    killed = true
    await exited
    await Promise.all(posting)
    expect(acked.size).toBeGreaterThanOrEqual(1500)
    const stats = () => JSON.stringify({ sent, acked: acked.size, failed, cutOff })
    expect(cutOff, stats()).toBeGreaterThan(0) // requests were in flight when it died: it was mid-burst

    // Restart on the same store: the database opens (WAL recovery), the server answers.
    // (On a fresh port: another test may have taken the old one since the kill.)
    const port2 = await freePort()
    const again = await startServe(store.root, port2)
    const health = await fetch(`http://127.0.0.1:${port2}/api/v1/health`)
    expect(health.status).toBe(200)
    const stopped = new Promise((r) => again.once('exit', r))
    again.kill('SIGTERM')
    await stopped

    const db = new DatabaseSync(join(store.root, 'fleet.db'), { readOnly: true })
    try {
      expect(db.prepare('PRAGMA integrity_check').all()).toEqual([{ integrity_check: 'ok' }])
      const stored = new Set(
        (db.prepare('SELECT body FROM events').all() as { body: string }[]).map(
          (r) => JSON.parse(r.body).message as string,
        ),
      )
      const lost = [...acked].filter((id) => !stored.has(id))
      expect({ sent, acked: acked.size, stored: stored.size, lost: lost.slice(0, 10) }, stats()).toMatchObject({
        lost: [],
      })
      expect(stored.size).toBeGreaterThanOrEqual(acked.size)
      expect(stored.size).toBeLessThanOrEqual(sent)
      const nodes = db.prepare('SELECT count(*) AS n FROM nodes').get() as { n: number }
      const posters = new Set([...stored].map((id) => id.split('-')[0]))
      expect(Number(nodes.n), stats()).toBe(posters.size)
    } finally {
      db.close()
    }
  })
})
