// The scheduler on a real fleet database file, with a clock the test moves:
// a scheduled reimage asks the fleet for the group's reimage and wakes every
// node with a real Wake-on-LAN datagram (to a UDP socket on loopback), the run
// follows the installs to their end, the missed-run policy after a restart
// (catch up within catch_up, skip older), and the notifications to a real
// HTTP receiver.
import { createSocket, type Socket } from 'node:dgram'
import { createServer } from 'node:http'
import { join } from 'node:path'
import type { DatabaseSync } from 'node:sqlite'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { PowerConfig } from '../../common/config-schedule.ts'
import { type Fleet, openFleet, openFleetDatabase } from '../../seeder/fleet/index.ts'
import { createNotifier, type Notification } from '../../seeder/notify/index.ts'
import { createPower } from '../../seeder/power/index.ts'
import { createScheduler, type Scheduler } from '../../seeder/schedule/index.ts'
import { tempDir } from '../support/tmp.ts'

const NODES = [
  ['52:54:00:00:01:01', '10.9.0.1', 'rn001', 'render'],
  ['52:54:00:00:01:02', '10.9.0.2', 'rn002', 'render'],
  ['52:54:00:00:02:01', '10.9.0.3', 'lab001', 'lab'],
]

interface World {
  dir: string
  fleet: Fleet
  clock: { t: Date; now(): Date }
  packets: Buffer[]
  port: number
  hooks: Notification[]
  open(catchUpSec?: number): Scheduler
}

const closers: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c()
})

async function world(): Promise<World> {
  const dir = await tempDir('imgswarm-sched-')
  const fleet = openFleet({ file: join(dir, 'fleet.db') })
  closers.push(() => fleet.stop())
  fleet.importCsv(`${NODES.map((n) => n.join(',')).join('\n')}\n`, 'nodes.csv')
  const packets: Buffer[] = []
  const udp: Socket = createSocket('udp4')
  udp.on('message', (m) => packets.push(m))
  await new Promise<void>((r) => udp.bind(0, '127.0.0.1', r))
  closers.push(() => new Promise<void>((r) => udp.close(() => r())))
  const hooks: Notification[] = []
  const http = createServer((req, res) => {
    let b = ''
    req.on('data', (d) => {
      b += String(d)
    })
    req.on('end', () => {
      hooks.push(JSON.parse(b) as Notification)
      res.end()
    })
  })
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r))
  closers.push(() => new Promise<void>((r) => http.close(() => r())))
  const power: PowerConfig = {
    driver: 'wol',
    file: undefined,
    // A unicast destination on loopback stands in for the broadcast address: same datagram, same code path.
    wol: { port: udp.address().port, broadcast: '127.0.0.1', interface: undefined },
    ipmi: { user: undefined, passwordFile: undefined, bmc: '{host}-bmc', interface: 'lanplus' },
    ssh: { user: 'root', identity: undefined, port: 22, knownHosts: undefined },
    amt: { passwordFile: undefined, host: '{host}' },
    timeoutSec: 10,
  }
  const clock = {
    t: new Date('2026-12-04T12:00:00Z'),
    now() {
      return new Date(this.t)
    },
  }
  const notifier = createNotifier({
    config: {
      events: ['finished', 'failed', 'skipped', 'node-failed'],
      webhook: {
        url: `http://127.0.0.1:${(http.address() as { port: number }).port}/`,
        secretFile: undefined,
        retries: 0,
      },
      smtp: undefined,
    },
  })
  return {
    dir,
    fleet,
    clock,
    packets,
    port: udp.address().port,
    hooks,
    open(catchUpSec = 3600) {
      const db: DatabaseSync = openFleetDatabase(join(dir, 'fleet.db'))
      const s = createScheduler(
        { db, tickMs: 0, catchUpSec, timeoutSec: 7200 },
        { fleet, power: createPower({ config: power }), notifier, clock },
      )
      closers.push(async () => {
        await s.stop()
        db.close()
      })
      return s
    },
  }
}

const magicFor = (mac: string) =>
  Buffer.concat([Buffer.alloc(6, 0xff), ...Array(16).fill(Buffer.from(mac.replace(/:/g, ''), 'hex'))])

/** Waits until `fn` holds (datagrams and webhooks arrive asynchronously), at most 5 s. */
async function until(fn: () => boolean): Promise<void> {
  for (let i = 0; i < 250 && !fn(); i++) await new Promise((r) => setTimeout(r, 20))
}

let w: World
beforeEach(async () => {
  w = await world()
})

describe('a scheduled reimage', () => {
  it('runs at its cron time: the group is asked to reimage, every node is woken, the run ends with the installs', async () => {
    const s = w.open()
    await s.start()
    const sched = s.add({ group: 'render', cron: '0 3 * * 6', timezone: 'UTC', action: 'reimage' }, 'test')
    expect(sched.nextRun).toBe('2026-12-05T03:00:00.000Z')

    w.clock.t = new Date('2026-12-05T02:59:59Z')
    await s.tick()
    expect(s.runs(sched.id, 10)).toEqual([])
    expect(w.fleet.node('rn001').state).toBe('idle')

    w.clock.t = new Date('2026-12-05T03:00:10Z')
    await s.tick()
    const [run] = s.runs(sched.id, 10)
    expect(run).toMatchObject({ trigger: 'cron', result: 'running', dueAt: '2026-12-05T03:00:00.000Z' })
    expect(run?.nodes.map((n) => n.id).sort()).toEqual(['rn001', 'rn002'])
    // The fleet database has the request: state, and the next network boot installs.
    for (const id of ['rn001', 'rn002']) expect(w.fleet.node(id).state).toBe('reimage-requested')
    expect(w.fleet.bootAction('52:54:00:00:01:01')).toBe('reimage')
    expect(w.fleet.node('lab001').state).toBe('idle')
    // And the power driver woke exactly the group's nodes (3 copies each).
    await until(() => w.packets.length >= 6)
    const macs = new Set(w.packets.map((p) => p.toString('hex')))
    expect(macs).toEqual(new Set(['52:54:00:00:01:01', '52:54:00:00:01:02'].map((m) => magicFor(m).toString('hex'))))
    expect(run?.nodes[0]?.power).toBe(`wol: magic packet to 127.0.0.1:${w.port}`)
    expect(s.get(sched.id).nextRun).toBe('2026-12-12T03:00:00.000Z')

    // One node installs, one fails: the run closes as partial, notified, and the failed install too.
    await w.fleet.addEvent({ node: 'rn001', step: 'done', receivedAt: new Date().toISOString(), ip: '10.9.0.1' })
    await w.fleet.addEvent({
      node: 'rn002',
      step: 'failed',
      receivedAt: new Date().toISOString(),
      ip: '10.9.0.2',
      code: 'IMGSWARM_ERR_DISK',
    })
    w.clock.t = new Date('2026-12-05T03:20:00Z')
    await s.tick()
    await s.idle()
    expect(s.runs(sched.id, 1)[0]).toMatchObject({ result: 'partial', message: '1 of 2 installed, 1 failed' })
    expect(s.get(sched.id).lastRun?.result).toBe('partial')
    await until(() => w.hooks.length >= 2)
    expect(w.hooks.map((h) => h.event).sort()).toEqual(['failed', 'node-failed'])
    const failed = w.hooks.find((h) => h.event === 'failed')
    expect(failed?.run).toMatchObject({
      result: 'partial',
      nodes: expect.arrayContaining([{ id: 'rn002', state: 'failed' }]),
    })
    expect(w.hooks.find((h) => h.event === 'node-failed')?.node).toMatchObject({
      id: 'rn002',
      code: 'IMGSWARM_ERR_DISK',
    })
  })

  it('a run whose nodes never finish closes as timed out', async () => {
    const s = w.open()
    await s.start()
    const sched = s.add({ group: 'lab', cron: '0 3 * * 6', timezone: 'UTC', action: 'reimage' }, 'test')
    const run = await s.runNow(sched.id, 'test')
    expect(run).toMatchObject({ trigger: 'manual', result: 'running' })
    w.clock.t = new Date(w.clock.t.getTime() + 7201_000)
    await s.tick()
    expect(s.runs(sched.id, 1)[0]).toMatchObject({
      result: 'timeout',
      message: expect.stringContaining('still open: lab001'),
    })
  })
})

describe('poweroff and reboot', () => {
  it('go to the power driver alone; a driver that cannot do it fails the run, node by node', async () => {
    const s = w.open()
    const off = s.add({ group: 'lab', cron: '0 3 * * 6', action: 'poweroff' }, 't')
    const run = await s.runNow(off.id, 't')
    expect(run).toMatchObject({ result: 'failed', message: 'poweroff sent to 0 of 1 node(s)' })
    expect(run.nodes[0]?.power).toMatch(/^error: power \(wol\) lab001: Wake-on-LAN can only wake/)
    const reboot = s.add({ group: 'lab', cron: '0 3 * * 6', action: 'reboot', power: 'none' }, 't')
    expect(await s.runNow(reboot.id, 't')).toMatchObject({
      result: 'done',
      nodes: [{ id: 'lab001', power: 'none: nothing to do' }],
    })
    expect(w.fleet.node('lab001').state).toBe('idle')
  })
})

describe('missed runs (serve was down)', () => {
  it('a run missed by less than catch_up runs once at start-up; an older one is skipped and notified', async () => {
    const first = w.open()
    await first.start()
    const recent = first.add({ group: 'render', cron: '0 3 * * 6', timezone: 'UTC', action: 'reimage' }, 't')
    const old = first.add({ group: 'lab', cron: '0 1 * * 6', timezone: 'UTC', action: 'reimage' }, 't')
    const often = first.add(
      { group: 'lab', cron: '*/10 * * * *', timezone: 'UTC', action: 'poweroff', power: 'none' },
      't',
    )
    await first.stop()
    // Down from Friday noon to Saturday 03:30: render's 03:00 is 30 min late, lab's 01:00 is 2.5 h late.
    w.clock.t = new Date('2026-12-05T03:30:00Z')
    const second = w.open(3600)
    await second.start()
    expect(second.runs(recent.id, 5)).toMatchObject([{ trigger: 'catch-up', result: 'running' }])
    expect(w.fleet.node('rn001').state).toBe('reimage-requested')
    expect(second.runs(old.id, 5)).toMatchObject([
      { trigger: 'catch-up', result: 'skipped', message: expect.stringContaining('missed 1 run(s)') },
    ])
    expect(w.fleet.node('lab001').state).toBe('idle')
    // Every 10 minutes for 15.5 hours: many missed runs, one record.
    const skipped = second.runs(often.id, 5)
    expect(skipped).toHaveLength(1)
    expect(skipped[0]?.message).toContain('missed 93 run(s)')
    // Next runs are in the future again.
    expect(second.get(recent.id).nextRun).toBe('2026-12-12T03:00:00.000Z')
    expect(second.get(often.id).nextRun).toBe('2026-12-05T03:40:00.000Z')
    await second.idle()
    await until(() => w.hooks.filter((h) => h.event === 'skipped').length >= 2)
    expect(
      w.hooks
        .filter((h) => h.event === 'skipped')
        .map((h) => h.schedule?.id)
        .sort(),
    ).toEqual([old.id, often.id])
  })
})

describe('pausing', () => {
  it('a disabled schedule does not run; enabled again, its next run counts from now and nothing is skipped', async () => {
    const s = w.open()
    await s.start()
    const sched = s.add({ group: 'render', cron: '0 3 * * 6', timezone: 'UTC', action: 'reimage' }, 't')
    expect(s.setEnabled(sched.id, false).enabled).toBe(false)
    w.clock.t = new Date('2026-12-05T03:00:30Z')
    await s.tick()
    expect(s.runs(sched.id, 5)).toEqual([])
    expect(w.fleet.node('rn001').state).toBe('idle')
    w.clock.t = new Date('2026-12-08T10:00:00Z')
    const back = s.setEnabled(sched.id, true)
    expect(back).toMatchObject({ enabled: true, nextRun: '2026-12-12T03:00:00.000Z' })
    await s.tick()
    expect(s.runs(sched.id, 5)).toEqual([])
    expect(() => s.setEnabled(42, true)).toThrow(expect.objectContaining({ code: 'IMGSWARM_ERR_SCHEDULE_NOT_FOUND' }))
  })
})

describe('what a schedule may be', () => {
  it('refuses update (no node agent yet), a bad group, cron or zone, and --to on a reimage, with coded errors', async () => {
    const s = w.open()
    const add = (o: Record<string, unknown>) => () =>
      s.add({ group: 'render', cron: '0 3 * * 6', action: 'reimage', ...o } as never, 't')
    expect(add({ action: 'update', to: 'img@2' })).toThrow(
      expect.objectContaining({ code: 'IMGSWARM_ERR_NEEDS_AGENT' }),
    )
    expect(add({ group: '../x' })).toThrow(expect.objectContaining({ code: 'IMGSWARM_ERR_SCHEDULE' }))
    expect(add({ cron: '61 * * * *' })).toThrow(expect.objectContaining({ code: 'IMGSWARM_ERR_CRON' }))
    expect(add({ timezone: 'Mars/Olympus' })).toThrow(expect.objectContaining({ code: 'IMGSWARM_ERR_TIMEZONE' }))
    expect(add({ to: 'img@2' })).toThrow(expect.objectContaining({ code: 'IMGSWARM_ERR_SCHEDULE' }))
    expect(add({ action: 'format' })).toThrow(expect.objectContaining({ code: 'IMGSWARM_ERR_SCHEDULE' }))
    expect(s.list()).toEqual([])
    expect(() => s.remove(99)).toThrow(expect.objectContaining({ code: 'IMGSWARM_ERR_SCHEDULE_NOT_FOUND' }))
  })

  it('the next run of an every-minute schedule is the next whole minute, in the given zone', async () => {
    const s = w.open()
    w.clock.t = new Date('2026-12-04T12:00:30Z')
    expect(s.add({ group: 'render', cron: '* * * * *', timezone: 'UTC', action: 'reimage' }, 't').nextRun).toBe(
      '2026-12-04T12:01:00.000Z',
    )
    // 03:00 in Paris is 02:00 UTC in winter.
    expect(
      s.add({ group: 'render', cron: '0 3 * * 6', timezone: 'Europe/Paris', action: 'reimage' }, 't').nextRun,
    ).toBe('2026-12-05T02:00:00.000Z')
  })
})
