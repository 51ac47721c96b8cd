// Schedules across a real restart of a real `imgswarm serve` process, driven
// through the CLI as a person would. The server is killed with SIGKILL (no
// goodbye), and while it is down the test moves the schedules' next run into
// the past in STORE/fleet.db: that is exactly what a server that was down at
// 03:00 finds at start-up, without waiting for a real Saturday. After the
// restart: the run 10 minutes late is caught up (the group is asked to
// reimage and its nodes are woken with real Wake-on-LAN datagrams), the run
// 3 hours late is skipped and notified to a real webhook receiver.
import { type ChildProcess, spawn } from 'node:child_process'
import { createHmac } from 'node:crypto'
import { createSocket } from 'node:dgram'
import { writeFile } from 'node:fs/promises'
import { createServer, type IncomingMessage } from 'node:http'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { afterEach, describe, expect, it } from 'vitest'
import type { NodeRow } from '../../seeder/fleet/index.ts'
import type { Notification } from '../../seeder/notify/index.ts'
import type { RunRow, ScheduleRow } from '../../seeder/schedule/index.ts'
import { freePort, packedStore } from '../serve/harness.ts'
import { BIN, cli, cliAsync } from '../support/cli.ts'
import { tempDir } from '../support/tmp.ts'

const closers: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c()
})

const SECRET = 'restart-test-secret'
const MACS = ['52:54:00:00:0a:01', '52:54:00:00:0a:02']

interface Serve {
  child: ChildProcess
  log: () => string
  exited: Promise<number | null>
}

async function startServe(store: string, port: number, env: NodeJS.ProcessEnv): Promise<Serve> {
  const child = spawn(
    BIN,
    ['serve', '--store', store, '--host', '127.0.0.1', '--port', String(port), '--torrent-port', '0', '--no-udp'],
    { env: { ...process.env, IMGSWARM_FROM_SOURCE: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  )
  closers.push(() => {
    if (child.exitCode === null) child.kill('SIGKILL')
  })
  let log = ''
  child.stdout?.on('data', (d) => {
    log += String(d)
  })
  child.stderr?.on('data', (d) => {
    log += String(d)
  })
  const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)))
  const deadline = Date.now() + 60_000
  while (!log.includes('imgswarm serve is up') && Date.now() < deadline && child.exitCode === null)
    await new Promise((r) => setTimeout(r, 100))
  if (!log.includes('imgswarm serve is up')) throw new Error(`serve did not start:\n${log}`)
  return { child, log: () => log, exited }
}

async function until(fn: () => boolean, ms = 10_000): Promise<void> {
  for (const end = Date.now() + ms; !fn() && Date.now() < end; ) await new Promise((r) => setTimeout(r, 50))
}

describe('schedules across a serve restart', () => {
  it('persist; a run missed by 10 min is caught up (reimage + WoL), one missed by 3 h is skipped and notified', async () => {
    const dir = await tempDir('imgswarm-sched-serve-')
    const { store } = await packedStore(dir, 1)
    // What the operator's side sees: Wake-on-LAN datagrams and webhook posts.
    const packets: Buffer[] = []
    const udp = createSocket('udp4')
    udp.on('message', (m) => packets.push(m))
    await new Promise<void>((r) => udp.bind(0, '127.0.0.1', r))
    closers.push(() => new Promise<void>((r) => udp.close(() => r())))
    const hooks: { headers: IncomingMessage['headers']; body: string }[] = []
    const http = createServer((req, res) => {
      let body = ''
      req.on('data', (d) => {
        body += String(d)
      })
      req.on('end', () => {
        hooks.push({ headers: req.headers, body })
        res.end()
      })
    })
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r))
    closers.push(() => new Promise<void>((r) => http.close(() => r())))
    await writeFile(join(dir, 'hook.secret'), `${SECRET}\n`, { mode: 0o600 })
    const cfg = join(dir, 'imgswarm.toml')
    await writeFile(
      cfg,
      `[serve.schedule]
catch_up = "1h"

[serve.power]
driver = "wol"

[serve.power.wol]
# loopback stands in for the broadcast address: the same datagram reaches the test's socket
broadcast = "127.0.0.1"
port = ${udp.address().port}

[serve.notify]
events = ["finished", "failed", "skipped"]

[serve.notify.webhook]
url = "http://127.0.0.1:${(http.address() as { port: number }).port}/hook"
secret_file = "${join(dir, 'hook.secret')}"
retries = 0
`,
    )
    const env = { IMGSWARM_CONFIG: cfg }
    await writeFile(join(dir, 'nodes.csv'), `${MACS[0]},10.8.0.1,rn001,render\n${MACS[1]},10.8.0.2,rn002,render\n`)
    const imported = cli(['node', 'import', join(dir, 'nodes.csv'), '--store', store.root, '--direct'], env)
    expect(imported.status, imported.stderr).toBe(0)

    const port = await freePort()
    const url = `http://127.0.0.1:${port}`
    const on = ['--store', store.root, '--server', url]
    let serve = await startServe(store.root, port, env)
    const add = (...args: string[]) => cliAsync(['schedule', 'add', ...args, ...on, '--json'], env)
    const late = await add('render', '--cron', '0 3 * * 6', '--tz', 'UTC', '--action', 'reimage')
    expect(late.status, late.stderr).toBe(0)
    const older = await add('render', '--cron', '0 1 * * 6', '--tz', 'UTC', '--action', 'reimage')
    const reboot = await add('render', '--cron', '0 4 1 1 *', '--action', 'reboot', '--power', 'none')
    const ids = [late, older, reboot].map((r) => (JSON.parse(r.stdout) as { schedule: ScheduleRow }).schedule.id)
    // update is refused by the server with its code (no node agent yet).
    const update = await add('render', '--cron', '0 3 * * 6', '--action', 'update', '--to', 'img@1')
    expect(update.status).toBe(2)
    expect(update.stderr).toContain('IMGSWARM_ERR_NEEDS_AGENT')

    // run-now through the API: a reboot with driver none finishes at once and is notified.
    const now = await cliAsync(['schedule', 'run-now', String(ids[2]), ...on, '--json'], env)
    expect(now.status, now.stderr).toBe(0)
    expect((JSON.parse(now.stdout) as { run: RunRow }).run).toMatchObject({ trigger: 'manual', result: 'done' })
    await until(() => hooks.length >= 1)
    expect(JSON.parse(hooks[0]?.body ?? '{}')).toMatchObject({ event: 'finished', schedule: { id: ids[2] } })

    // Down hard; meanwhile the 03:00 run came due 10 minutes ago and the 01:00 one 3 hours ago.
    serve.child.kill('SIGKILL')
    await serve.exited
    const db = new DatabaseSync(join(store.root, 'fleet.db'))
    const ago = (min: number) => new Date(Date.now() - min * 60_000).toISOString()
    db.prepare('UPDATE schedules SET next_run = ? WHERE id = ?').run(ago(10), ids[0] as number)
    db.prepare('UPDATE schedules SET next_run = ? WHERE id = ?').run(ago(180), ids[1] as number)
    db.close()
    expect(packets).toEqual([])

    serve = await startServe(store.root, port, env)
    const listed = await cliAsync(['schedule', 'list', ...on, '--json'], env)
    expect(listed.status, listed.stderr).toBe(0)
    const rows = (JSON.parse(listed.stdout) as { schedules: ScheduleRow[] }).schedules
    expect(rows.map((r) => r.id)).toEqual(ids)
    const [a, b] = rows as [ScheduleRow, ScheduleRow]
    expect(a.lastRun).toMatchObject({ trigger: 'catch-up', result: 'running' })
    expect(Date.parse(a.nextRun as string)).toBeGreaterThan(Date.now())
    expect(b.lastRun).toMatchObject({
      trigger: 'catch-up',
      result: 'skipped',
      message: expect.stringContaining('catch_up 3600 s'),
    })
    // The caught-up run asked the fleet for the reimage...
    const nodes = await cliAsync(['node', 'list', ...on, '--json'], env)
    expect((JSON.parse(nodes.stdout) as { nodes: NodeRow[] }).nodes.map((n) => [n.id, n.state])).toEqual([
      ['rn001', 'reimage-requested'],
      ['rn002', 'reimage-requested'],
    ])
    // ...and woke both nodes: 6 x 0xFF then the MAC 16 times, 3 copies each.
    await until(() => packets.length >= 6)
    const magic = (mac: string) => `${'ff'.repeat(6)}${mac.replace(/:/g, '').repeat(16)}`
    expect(new Set(packets.map((p) => p.toString('hex')))).toEqual(new Set(MACS.map(magic)))
    expect(packets).toHaveLength(6)
    // The skipped run was notified, signed with the secret from the file.
    await until(() => hooks.some((h) => JSON.parse(h.body).event === 'skipped'))
    const skipped = hooks.find((h) => JSON.parse(h.body).event === 'skipped')
    expect(skipped).toBeDefined()
    const n = JSON.parse(skipped?.body as string) as Notification
    expect(n).toMatchObject({ schedule: { id: ids[1], group: 'render' }, run: { result: 'skipped' } })
    const ts = skipped?.headers['x-imgswarm-timestamp'] as string
    expect(skipped?.headers['x-imgswarm-signature']).toBe(
      `sha256=${createHmac('sha256', SECRET).update(`${ts}.${skipped?.body}`).digest('hex')}`,
    )

    // The dashboard has the view, and a clean stop still exits 0 with the scheduler running.
    const page = await (await fetch(`${url}/`)).text()
    expect(page).toContain('id="view-schedules"')
    serve.child.kill('SIGTERM')
    expect(await serve.exited).toBe(0)
  }, 180_000)
})
