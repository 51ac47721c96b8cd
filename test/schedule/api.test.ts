// The schedule and power routes of a real serve on loopback: the admin token
// is required, hostile or wrong bodies get coded 4xx answers and change
// nothing, and power results come back per node.
import { execFile } from 'node:child_process'
import { createSocket } from 'node:dgram'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { scheduleConfig } from '../../common/config-schedule.ts'
import { packedStore, type Running, startServe } from '../serve/harness.ts'
import { BIN } from '../support/cli.ts'

let srv: Running
let dir: string
let token: string
const packets: Buffer[] = []
const udp = createSocket('udp4')

beforeAll(async () => {
  // Not tempDir (removed after each test): this store must outlive them; afterAll removes it.
  dir = await mkdtemp(join(tmpdir(), 'imgswarm-sched-api-'))
  const { store } = await packedStore(dir, 1)
  await new Promise<void>((r) => udp.bind(0, '127.0.0.1', r))
  udp.on('message', (m) => packets.push(m))
  const schedule = scheduleConfig('test.toml', {
    power: { driver: 'wol', wol: { broadcast: '127.0.0.1', port: udp.address().port } },
  })
  srv = await startServe(store, { udp: false, schedule })
  token = (await readFile(srv.server.adminTokenFile, 'utf8')).trim()
  srv.server.fleet?.importCsv(
    '52:54:00:00:0b:01,10.7.0.1,web01,web\n52:54:00:00:0b:02,10.7.0.2,web02,web\n52:54:00:00:0b:03,10.7.0.3,db01,db\n',
    'x.csv',
  )
}, 60_000)

afterAll(async () => {
  await srv?.stop()
  await new Promise<void>((r) => udp.close(() => r()))
  if (dir) await rm(dir, { recursive: true, force: true })
})

/** The CLI, run asynchronously: this process hosts the server, so spawnSync would block it. */
function cli(args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      BIN,
      args,
      { env: { ...process.env, IMGSWARM_FROM_SOURCE: '1', IMGSWARM_CONFIG: 'none' }, timeout: 120_000 },
      (e, stdout, stderr) => resolve({ status: e ? Number(e.code ?? -1) : 0, stdout, stderr }),
    )
  })
}

async function call(method: string, path: string, body?: unknown, auth = true) {
  const headers: Record<string, string> = {}
  if (auth) headers.authorization = `Bearer ${token}`
  if (body !== undefined) headers['content-type'] = 'application/json'
  const res = await fetch(`${srv.url}${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  // biome-ignore lint/suspicious/noExplicitAny: the answers are checked by shape in each test
  return { status: res.status, json: (await res.json()) as Record<string, any> }
}

describe('schedule routes', () => {
  it('need the admin token', async () => {
    expect((await call('GET', '/api/v1/schedules', undefined, false)).status).toBe(401)
    const r = await call('POST', '/api/v1/schedules', { group: 'web', cron: '0 3 * * 6', action: 'reimage' }, false)
    expect(r.status).toBe(401)
    expect((await call('GET', '/api/v1/schedules')).json.schedules).toEqual([])
  })

  it('refuse bad bodies with coded errors and store nothing', async () => {
    const bad: [unknown, string][] = [
      [{ group: 'web', cron: '0 3 * * 6 *', action: 'reimage' }, 'IMGSWARM_ERR_CRON'],
      [{ group: 'web', cron: '0 25 * * *', action: 'reimage' }, 'IMGSWARM_ERR_CRON'],
      [{ group: 'web', cron: '0 3 * * 6', action: 'reimage', timezone: 'Not/AZone' }, 'IMGSWARM_ERR_TIMEZONE'],
      [{ group: 'web', cron: '0 3 * * 6', action: 'update', to: 'img@1' }, 'IMGSWARM_ERR_NEEDS_AGENT'],
      [{ group: 'web', cron: '0 3 * * 6', action: 'reimage', to: 'img@1' }, 'IMGSWARM_ERR_SCHEDULE'],
      [{ group: '../../etc', cron: '0 3 * * 6', action: 'reimage' }, 'IMGSWARM_ERR_INVALID_REQUEST'],
      [{ group: 'web', cron: '0 3 * * 6', action: 'rm -rf' }, 'IMGSWARM_ERR_INVALID_REQUEST'],
      [{ group: 'web', cron: '0 3 * * 6', action: 'reimage', extra: 1 }, 'IMGSWARM_ERR_INVALID_REQUEST'],
      [{ group: 'web', cron: `${'1,'.repeat(200)}1 * * * *`, action: 'reimage' }, 'IMGSWARM_ERR_INVALID_REQUEST'],
    ]
    for (const [body, code] of bad) {
      const r = await call('POST', '/api/v1/schedules', body)
      expect([r.status, r.json.error?.code], JSON.stringify(body)).toEqual([400, code])
    }
    expect((await call('GET', '/api/v1/schedules')).json.schedules).toEqual([])
    expect((await call('GET', '/api/v1/schedules/99')).status).toBe(404)
    expect((await call('GET', '/api/v1/schedules/abc')).status).toBe(400)
    expect((await call('DELETE', '/api/v1/schedules/99')).json.error.code).toBe('IMGSWARM_ERR_SCHEDULE_NOT_FOUND')
  })

  it('add, show, run now, remove', async () => {
    const add = await call('POST', '/api/v1/schedules', { group: 'db', cron: '0 3 * * 6', action: 'reimage' })
    expect(add.status).toBe(200)
    const id = add.json.schedule.id as number
    expect(add.json.schedule.createdBy).toBe('token@127.0.0.1')
    const run = await call('POST', `/api/v1/schedules/${id}/run`)
    expect(run.json.run).toMatchObject({ trigger: 'manual', result: 'running', nodes: [{ id: 'db01' }] })
    expect(srv.server.fleet?.node('db01').state).toBe('reimage-requested')
    const shown = await call('GET', `/api/v1/schedules/${id}`)
    expect(shown.json.runs).toHaveLength(1)
    expect(shown.json.schedule.lastRun.id).toBe(run.json.run.id)
    const off = await call('PATCH', `/api/v1/schedules/${id}`, { enabled: false })
    expect(off.json.schedule.enabled).toBe(false)
    expect((await call('PATCH', `/api/v1/schedules/${id}`, { enabled: 'no' })).status).toBe(400)
    expect((await call('PATCH', `/api/v1/schedules/${id}`, { enabled: true, cron: '* * * * *' })).status).toBe(400)
    expect((await call('PATCH', `/api/v1/schedules/${id}`, { enabled: true }, false)).status).toBe(401)
    const on = await cli(['schedule', 'enable', String(id), '--server', srv.url, '--token', token, '--store', dir])
    expect(on.stdout, on.stderr).toMatch(new RegExp(`^schedule #${id} \\(reimage db\\) enabled; next run 20`))
    expect((await call('GET', `/api/v1/schedules/${id}`)).json.schedule.enabled).toBe(true)
    expect((await call('DELETE', `/api/v1/schedules/${id}`)).json.ok).toBe(true)
    expect((await call('GET', '/api/v1/schedules')).json.schedules).toEqual([])
  })
})

describe('power routes', () => {
  it('power a node and a group, each node with its own result', async () => {
    packets.length = 0
    const one = await call('POST', '/api/v1/nodes/web01/power', { op: 'on' })
    expect(one.json).toEqual({
      ok: true,
      results: [{ node: 'web01', ok: true, driver: 'wol', done: [`magic packet to 127.0.0.1:${udp.address().port}`] }],
    })
    // Wake-on-LAN cannot power off: every node fails, with its code, and the answer says so.
    const off = await call('POST', '/api/v1/groups/web/power', { op: 'off' })
    expect(off.status).toBe(200)
    expect(off.json.ok).toBe(false)
    expect(off.json.results.map((r: { node: string; error: { code: string } }) => [r.node, r.error.code])).toEqual([
      ['web01', 'IMGSWARM_ERR_POWER'],
      ['web02', 'IMGSWARM_ERR_POWER'],
    ])
    // A driver given in the body wins: none does nothing and succeeds.
    expect((await call('POST', '/api/v1/groups/web/power', { op: 'off', driver: 'none' })).json.ok).toBe(true)
    for (let i = 0; i < 100 && packets.length < 3; i++) await new Promise((r) => setTimeout(r, 20))
    expect(packets.map((p) => p.subarray(6, 12).toString('hex'))).toEqual([
      '525400000b01',
      '525400000b01',
      '525400000b01',
    ])
  })

  it('imgswarm node power goes through them: a line per node, exit status 1 when one failed', async () => {
    const on = ['--server', srv.url, '--token', token, '--store', dir]
    const ok = await cli(['node', 'power', 'on', 'web02', ...on])
    expect([ok.status, ok.stdout], ok.stderr).toEqual([
      0,
      `web02: wol magic packet to 127.0.0.1:${udp.address().port}\n`,
    ])
    const bad = await cli(['node', 'power', 'reboot', '--group', 'web', ...on, '--json'])
    expect(bad.status).toBe(1)
    expect(JSON.parse(bad.stdout)).toMatchObject({
      ok: false,
      results: [
        { node: 'web01', ok: false, error: { code: 'IMGSWARM_ERR_POWER' } },
        { node: 'web02', ok: false },
      ],
    })
    expect((await cli(['node', 'power', 'on', ...on])).status).toBe(2)
  })

  it('refuse the unknown and the unauthorised', async () => {
    expect((await call('POST', '/api/v1/nodes/web01/power', { op: 'on' }, false)).status).toBe(401)
    expect((await call('POST', '/api/v1/nodes/nope/power', { op: 'on' })).json.error.code).toBe(
      'IMGSWARM_ERR_NODE_NOT_FOUND',
    )
    expect((await call('POST', '/api/v1/groups/empty/power', { op: 'on' })).json.error.code).toBe(
      'IMGSWARM_ERR_GROUP_NOT_FOUND',
    )
    expect((await call('POST', '/api/v1/nodes/web01/power', { op: 'explode' })).status).toBe(400)
    expect((await call('POST', '/api/v1/nodes/web01/power', { op: 'on', driver: 'telnet' })).status).toBe(400)
  })
})

describe('a broken power file', () => {
  it('stops serve at start with a coded error naming the entry', async () => {
    const d = await mkdtemp(join(tmpdir(), 'imgswarm-sched-pf-'))
    try {
      const { store } = await packedStore(d, 1)
      await writeFile(join(store.root, 'power.toml'), '[[host]]\nhosts = "n[01-04]"\ndriver = "telnet"\n')
      const err = await startServe(store, { udp: false, schedule: scheduleConfig('t.toml', {}) }).catch((e) => e)
      expect(err).toMatchObject({ code: 'IMGSWARM_ERR_POWER_CONFIG', message: expect.stringContaining('[[host]] #1') })
    } finally {
      await rm(d, { recursive: true, force: true })
    }
  })
})
