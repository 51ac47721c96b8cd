// The fleet database on its own: migrations, events, the install history,
// boot decisions, actions and the inventory CSV. A real node:sqlite file.
import { statSync } from 'node:fs'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { describe, expect, it } from 'vitest'
import type { NodeEvent } from '../../seeder/api/events.ts'
import {
  type Fleet,
  type FleetComponents,
  MIGRATIONS,
  openFleet,
  parseInventoryCsv,
  SCHEMA_VERSION,
  TOUCH_MS,
} from '../../seeder/fleet/index.ts'
import { tempDir } from '../support/tmp.ts'

const ev = (node: string, step: NodeEvent['step'], extra: Partial<NodeEvent> = {}): NodeEvent => ({
  node,
  step,
  receivedAt: new Date().toISOString(),
  ip: '10.0.0.5',
  ...extra,
})

async function fleetIn(dir?: string, plans?: FleetComponents['plans']): Promise<Fleet> {
  const d = dir ?? (await tempDir('imgswarm-fleetdb-'))
  return openFleet({ file: join(d, 'fleet.db') }, plans ? { plans } : {})
}

describe('migrations', () => {
  it('a fresh database gets every migration, WAL mode and foreign keys', async () => {
    const dir = await tempDir('imgswarm-fleetdb-')
    const f = await fleetIn(dir)
    expect(f.schemaVersion).toBe(SCHEMA_VERSION)
    await f.stop()
    const db = new DatabaseSync(join(dir, 'fleet.db'))
    expect(db.prepare('PRAGMA journal_mode').get()).toEqual({ journal_mode: 'wal' })
    const applied = db.prepare('SELECT version, name FROM schema_migrations ORDER BY version').all()
    expect(applied).toEqual(MIGRATIONS.map((m) => ({ version: m.version, name: m.name })))
    const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map(
      (t) => t.name,
    )
    expect(tables).toEqual(expect.arrayContaining(['nodes', 'events', 'installs', 'actions', 'schema_migrations']))
    db.close()
  })

  it('upgrades a version 1 database, keeping its rows', async () => {
    const dir = await tempDir('imgswarm-fleetdb-')
    const file = join(dir, 'fleet.db')
    const v1 = openFleet({ file, migrateTo: 1 })
    expect(v1.schemaVersion).toBe(1)
    await v1.stop()
    // Rows as version 1 wrote them (no installs table, no facts column yet).
    const raw = new DatabaseSync(file)
    raw
      .prepare(
        "INSERT INTO nodes (hostname, mac, ip, state, created_at) VALUES ('old01', '52:54:00:00:00:01', '10.0.0.1', 'idle', 'x')",
      )
      .run()
    expect(() => raw.prepare('SELECT * FROM installs').all()).toThrow(/no such table/)
    raw.close()
    const f = openFleet({ file })
    expect(f.schemaVersion).toBe(SCHEMA_VERSION)
    expect(f.node('old01')).toMatchObject({ id: 'old01', mac: '52:54:00:00:00:01', facts: null, installs: [] })
    await f.addEvent(ev('old01', 'config'))
    expect(f.installs('old01', 10)).toHaveLength(1)
    await f.stop()
  })

  it('upgrades a version 2 database to the schedules tables, keeping its nodes', async () => {
    const dir = await tempDir('imgswarm-fleetdb-')
    const file = join(dir, 'fleet.db')
    const v2 = openFleet({ file, migrateTo: 2 })
    v2.importCsv('52:54:00:00:00:02,10.0.0.2,old02,render\n', 'x.csv')
    await v2.stop()
    const before = new DatabaseSync(file)
    expect(() => before.prepare('SELECT * FROM schedules').all()).toThrow(/no such table/)
    before.close()
    const f = openFleet({ file })
    expect(f.schemaVersion).toBe(SCHEMA_VERSION)
    expect(f.node('old02')).toMatchObject({ group: 'render', mac: '52:54:00:00:00:02' })
    await f.stop()
    const raw = new DatabaseSync(file)
    raw
      .prepare(
        "INSERT INTO schedules (grp, cron, action, created_at, created_by, next_run) VALUES ('render', '0 3 * * 6', 'reimage', 'x', 'test', NULL)",
      )
      .run()
    // The CHECK constraints refuse what the code never writes.
    expect(() =>
      raw
        .prepare(
          "INSERT INTO schedules (grp, cron, action, created_at, created_by) VALUES ('render', '* * * * *', 'format', 'x', 'test')",
        )
        .run(),
    ).toThrow(/CHECK constraint/)
    raw.close()
  })

  it('refuses a database from a newer imgswarm', async () => {
    const dir = await tempDir('imgswarm-fleetdb-')
    const file = join(dir, 'fleet.db')
    await (await fleetIn(dir)).stop()
    const raw = new DatabaseSync(file)
    raw.exec(`PRAGMA user_version = ${SCHEMA_VERSION + 1}`)
    raw.close()
    expect(() => openFleet({ file })).toThrow(expect.objectContaining({ code: 'IMGSWARM_ERR_FLEET_SCHEMA' }))
  })
})

describe('events and installs', () => {
  it('stores events with sequence numbers and keeps the node live view', async () => {
    const f = await fleetIn()
    await Promise.all([
      f.addEvent(ev('node001', 'config', { message: 'asking' })),
      f.addEvent(ev('node001', 'download', { percent: 40, bytesDown: 400, rateDown: 100, peers: 3 })),
      f.addEvent(ev('52:54:00:AA:BB:CC', 'disks')),
    ])
    const d = f.node('node001')
    expect(d).toMatchObject({
      state: 'installing',
      step: 'download',
      percent: 40,
      bytesDown: 400,
      peers: 3,
      ip: '10.0.0.5',
    })
    expect(d.etaSec).toBe(6)
    expect(d.events.map((e) => e.step)).toEqual(['config', 'download'])
    expect(d.events[1]?.seq).toBeGreaterThan(d.events[0]?.seq as number)
    expect(f.node('52:54:00:aa:bb:cc').id).toBe('52:54:00:aa:bb:cc')
    expect(f.recentEvents(10).map((e) => e.node)).toEqual(['node001', 'node001', '52:54:00:AA:BB:CC'])
    const after = f.events('node001', d.events[0]?.seq, 100)
    expect(after.map((e) => e.step)).toEqual(['download'])
    await f.stop()
  })

  it('an install that verifies closes as verified, clears the reimage request and boots local again', async () => {
    const f = await fleetIn()
    f.importCsv('52:54:00:00:00:11,10.0.0.11,node011,render\n', 'x.csv')
    f.requestReimage('node011')
    expect(f.bootAction('52:54:00:00:00:11')).toBe('reimage')
    f.planServed({ mac: '52:54:00:00:00:11' }, 'base@3')
    await f.addEvent(ev('node011', 'config'))
    await f.addEvent(
      ev('node011', 'download', {
        percent: 50,
        bytesDown: 1000,
        bytesFromServer: 300,
        bytesFromPeers: 700,
        rateDown: 9,
      }),
    )
    expect(f.installs('node011', 5)[0]).toMatchObject({ result: 'running', image: 'base@3', endedAt: null })
    await f.addEvent(ev('node011', 'seed'))
    await f.addEvent(ev('node011', 'done', { bytesFromServer: 500, bytesFromPeers: 1500 }))
    await f.addEvent(ev('node011', 'post', { message: 'reboot' }))
    const [i] = f.installs('node011', 5)
    expect(i).toMatchObject({
      result: 'verified',
      image: 'base@3',
      code: null,
      bytesFromServer: 500,
      bytesFromPeers: 1500,
    })
    expect(i?.endedAt).not.toBeNull()
    expect(f.installs(undefined, 10)).toHaveLength(1)
    expect(f.node('node011')).toMatchObject({ state: 'done', rateDown: 0 })
    expect(f.bootAction('52:54:00:00:00:11')).toBe('local')
    expect(f.summary()).toMatchObject({ bytesFromServer: 500, bytesFromPeers: 1500 })
    await f.stop()
  })

  it('an install that fails closes as failed with its code; the request stays for a retry', async () => {
    const f = await fleetIn()
    f.importCsv('52:54:00:00:00:12,10.0.0.12,node012,render\n', 'x.csv')
    f.requestReimage('node012')
    await f.addEvent(ev('node012', 'config'))
    await f.addEvent(ev('node012', 'failed', { code: 'IMGSWARM_ERR_CHECKSUM', message: 'bad piece', logTail: ['l1'] }))
    expect(f.installs('node012', 5)[0]).toMatchObject({ result: 'failed', code: 'IMGSWARM_ERR_CHECKSUM' })
    expect(f.node('node012')).toMatchObject({ state: 'failed', code: 'IMGSWARM_ERR_CHECKSUM', message: 'bad piece' })
    expect(f.bootAction('52:54:00:00:00:12')).toBe('reimage')
    // A new attempt opens a second install.
    await f.addEvent(ev('node012', 'config'))
    expect(f.installs('node012', 5).map((i) => i.result)).toEqual(['running', 'failed'])
    f.cancel('node012')
    expect(f.installs('node012', 5).map((i) => i.result)).toEqual(['cancelled', 'failed'])
    expect(f.node('node012').state).toBe('idle')
    expect(f.bootAction('52:54:00:00:00:12')).toBe('local')
    // Cancel does not reach the node: an installer still running goes on reporting, which opens
    // a new install (docs/inventory.md, "Cancelling"); the withdrawn request stays withdrawn.
    await f.addEvent(ev('node012', 'download', { percent: 70 }))
    expect(f.installs('node012', 5).map((i) => i.result)).toEqual(['running', 'cancelled', 'failed'])
    expect(f.node('node012').state).toBe('installing')
    expect(f.bootAction('52:54:00:00:00:12')).toBe('local')
    await f.addEvent(ev('node012', 'done'))
    expect(f.installs('node012', 5).map((i) => i.result)).toEqual(['verified', 'cancelled', 'failed'])
    await f.stop()
  })

  it('a node that reports by MAC until its plan names it is one node with one install', async () => {
    const f = await fleetIn()
    await f.addEvent(ev('52:54:00:00:00:61', 'config'))
    f.planServed({ mac: '52:54:00:00:00:61' }, 'base@2', 'node061')
    await f.addEvent(ev('node061', 'download', { percent: 10 }))
    await f.addEvent(ev('node061', 'done'))
    expect(f.list().map((n) => [n.id, n.mac, n.state])).toEqual([['node061', '52:54:00:00:00:61', 'done']])
    expect(f.installs(undefined, 10)).toMatchObject([{ node: 'node061', image: 'base@2', result: 'verified' }])
    await f.stop()
  })

  it('hardware facts from the config event are kept on the node, not in every event', async () => {
    const f = await fleetIn()
    const facts = {
      cpu: { model: 'Test CPU', count: 8 },
      memoryBytes: 16 * 2 ** 30,
      disks: [{ name: 'vda', sizeBytes: 10e9, model: null }],
      nics: [{ name: 'eth0', mac: '52:54:00:00:00:13', speedMbps: 1000 }],
    }
    await f.addEvent(ev('node013', 'config', { facts }))
    await f.addEvent(ev('node013', 'disks'))
    const d = f.node('node013')
    expect(d.facts).toEqual(facts)
    expect(d.events[0]).not.toHaveProperty('facts')
    await f.stop()
  })
})

describe('retention', () => {
  it('prunes the oldest events beyond maxEvents, keeping nodes and installs', async () => {
    const dir = await tempDir('imgswarm-fleetdb-')
    const f = openFleet({ file: join(dir, 'fleet.db'), maxEvents: 5 })
    await f.addEvent(ev('node051', 'config'))
    for (let i = 0; i < 11; i++) await f.addEvent(ev('node051', 'download', { percent: i }))
    expect(f.prune()).toBe(7)
    expect(f.prune()).toBe(0)
    expect(f.recentEvents(100).map((e) => e.percent)).toEqual([6, 7, 8, 9, 10])
    expect(f.installs('node051', 10)).toHaveLength(1)
    expect(f.integrity()).toEqual([])
    await f.stop()
  })
})

describe('boot decisions', () => {
  it('unknown MACs are recorded as discovered and boot local; adoption makes them reimageable', async () => {
    const f = await fleetIn()
    expect(f.bootAction('52-54-00-00-00-21', '10.0.0.21')).toBe('local')
    expect(f.list({ state: 'discovered' })).toMatchObject([{ id: '52:54:00:00:00:21', ip: '10.0.0.21', group: null }])
    expect(() => f.requestReimage('52:54:00:00:00:21')).toThrow(
      expect.objectContaining({ code: 'IMGSWARM_ERR_NOT_ADOPTED' }),
    )
    expect(f.bootAction('52:54:00:00:00:21')).toBe('local')
    f.adopt('52:54:00:00:00:21', 'render')
    expect(f.node('52:54:00:00:00:21')).toMatchObject({ state: 'idle', group: 'render' })
    expect(f.requestGroupReimage('render').map((n) => n.state)).toEqual(['reimage-requested'])
    expect(f.bootAction('52:54:00:00:00:21')).toBe('reimage')
    expect(f.bootAction('not-a-mac')).toBe('local')
    await f.stop()
  })

  it('auto-enrol: an unknown MAC in a group that allows it joins that group and is reimaged once', async () => {
    const plans = () => ({
      planFor: () => undefined,
      references: () => [],
      autoEnrolGroup: (q: { mac?: string | undefined }) => (q.mac?.startsWith('52:54:00:99') ? 'lab' : undefined),
    })
    const f = await fleetIn(undefined, plans)
    expect(f.bootAction('52:54:00:99:00:01')).toBe('reimage')
    expect(f.bootAction('52:54:00:00:00:31')).toBe('local')
    expect(f.node('52:54:00:99:00:01')).toMatchObject({ group: 'lab', state: 'reimage-requested' })
    await f.addEvent(ev('52:54:00:99:00:01', 'config'))
    await f.addEvent(ev('52:54:00:99:00:01', 'done'))
    expect(f.bootAction('52:54:00:99:00:01')).toBe('local')
    await f.stop()
  })

  it('a group reimage takes the adopted nodes of the group and the known nodes the cluster config puts in it', async () => {
    const plans = () => ({
      planFor: () => undefined,
      references: () => [],
      groupsOf: (q: { hostname?: string | undefined }) => (q.hostname?.startsWith('gpu') ? ['gpu'] : []),
    })
    const f = await fleetIn(undefined, plans)
    f.importCsv('52:54:00:00:00:71,10.0.0.71,gpu01\n52:54:00:00:00:72,10.0.0.72,cpu01\n', 'x.csv')
    f.bootAction('52:54:00:00:00:73')
    f.adopt('52:54:00:00:00:73', 'gpu')
    expect(f.requestGroupReimage('gpu').map((n) => n.id)).toEqual(['gpu01', '52:54:00:00:00:73'])
    expect(f.node('cpu01').state).toBe('idle')
    expect(() => f.requestGroupReimage('none')).toThrow(
      expect.objectContaining({ code: 'IMGSWARM_ERR_GROUP_NOT_FOUND' }),
    )
    await f.stop()
  })

  it("a known node's plan fetches commit nothing of their own: last_seen rides in the next batch, never backwards", async () => {
    const dir = await tempDir('imgswarm-fleetdb-')
    const f = await fleetIn(dir)
    f.importCsv('52:54:00:00:00:51,10.0.0.51,node051,render\n', 'x.csv')
    const q = { mac: '52:54:00:00:00:51', ip: '10.0.0.52' }
    f.planRequested(q)
    f.planServed(q, 'base@1', 'node051')
    await new Promise((r) => setTimeout(r, TOUCH_MS + 200))
    const seen = f.node('node051').lastSeen as string
    const wal = () => statSync(join(dir, 'fleet.db-wal')).size
    const before = wal()
    // Each commit appends to the WAL (and costs an fsync): 100 fetches of an unchanged plan append nothing now.
    for (let i = 0; i < 100; i++) {
      f.planRequested(q)
      f.planServed(q, 'base@1', 'node051')
    }
    expect(wal()).toBe(before)
    // Without an event to ride along with, the stamps get one commit of their own within TOUCH_MS.
    await new Promise((r) => setTimeout(r, TOUCH_MS + 200))
    const after = f.node('node051')
    expect(after.lastSeen! > seen).toBe(true)
    expect(after.ip).toBe('10.0.0.52')
    // A later event's stamp wins, and a queued older stamp does not undo it.
    await f.addEvent(ev('node051', 'download', { percent: 5 }))
    const byEvent = f.node('node051').lastSeen as string
    f.planRequested({ mac: '52:54:00:00:00:51' })
    await f.stop()
    const db = new DatabaseSync(join(dir, 'fleet.db'))
    const row = db.prepare("SELECT last_seen FROM nodes WHERE hostname = 'node051'").get() as { last_seen: string }
    db.close()
    expect(row.last_seen >= byEvent).toBe(true)
  })

  it('a plan request from an unknown MAC records it; an adopted node passes its group', async () => {
    const f = await fleetIn()
    expect(f.planRequested({ mac: '52:54:00:00:00:41', ip: '10.0.0.41' })).toEqual({ groups: [] })
    expect(f.node('52:54:00:00:00:41').state).toBe('discovered')
    f.adopt('52:54:00:00:00:41', 'gpu')
    expect(f.planRequested({ mac: '52:54:00:00:00:41' })).toEqual({ groups: ['gpu'] })
    f.remove('52:54:00:00:00:41')
    expect(() => f.node('52:54:00:00:00:41')).toThrow(expect.objectContaining({ code: 'IMGSWARM_ERR_NODE_NOT_FOUND' }))
    await f.stop()
  })
})

describe('inventory CSV', () => {
  it('reads mac,ip[,hostname[,group]] with or without a header', () => {
    const rows = parseInventoryCsv(
      '# pumi list\nMAC,IP,hostname,group\n52-54-00-00-00-01, 10.0.0.1 ,Node001,render\n\n525400000002,10.0.0.2\n',
      'a.csv',
    )
    expect(rows).toEqual([
      { mac: '52:54:00:00:00:01', ip: '10.0.0.1', hostname: 'node001', group: 'render', line: 3 },
      { mac: '52:54:00:00:00:02', ip: '10.0.0.2', hostname: null, group: null, line: 5 },
    ])
    expect(parseInventoryCsv('ip,mac\n10.0.0.3,52:54:00:00:00:03\n', 'b.csv')).toMatchObject([
      { mac: '52:54:00:00:00:03', ip: '10.0.0.3' },
    ])
  })

  it.each([
    ['52:54:00:00:00:01,10.0.0.1\nzz:54:00:00:00:02,10.0.0.2\n', 2, /not a MAC/],
    ['52:54:00:00:00:01,10.0.0.999\n', 1, /not an IP/],
    ['52:54:00:00:00:01,10.0.0.1,bad_host!\n', 1, /host name/],
    ['52:54:00:00:00:01,10.0.0.1,n1,bad group\n', 1, /group/],
    ['52:54:00:00:00:01,10.0.0.1\n52-54-00-00-00-01,10.0.0.2\n', 2, /already on line 1/],
    ['52:54:00:00:00:01,10.0.0.1,n1,g,extra\n', 1, /fields/],
    ['mac,ip,colour\n', 1, /unknown column/],
    ['"52:54:00:00:00:01",10.0.0.1\n', 1, /quoted/],
  ])('refuses %j at line %i', (text, line, why) => {
    expect(() => parseInventoryCsv(text, 'bad.csv')).toThrow(
      expect.objectContaining({
        code: 'IMGSWARM_ERR_CSV',
        message: expect.stringMatching(new RegExp(`line ${line}: .*${why.source}`)),
      }),
    )
  })

  it('imports all lines or none, and updates known nodes', async () => {
    const f = await fleetIn()
    f.bootAction('52:54:00:00:00:02')
    expect(() => f.importCsv('52:54:00:00:00:01,10.0.0.1,n1\n52:54:00:00:00:09,10.0.0.9,n1\n', 'x.csv')).toThrow(
      /line 2/,
    )
    expect(f.list().map((n) => n.id)).toEqual(['52:54:00:00:00:02'])
    const rows = f.importCsv('52:54:00:00:00:01,10.0.0.1,n1,g1\n52:54:00:00:00:02,10.0.0.2,n2,g1\n', 'x.csv')
    expect(rows.map((n) => [n.id, n.state, n.group])).toEqual([
      ['n1', 'idle', 'g1'],
      ['n2', 'idle', 'g1'],
    ])
    // A host name that belongs to another MAC is refused, naming the line.
    expect(() => f.importCsv('52:54:00:00:00:03,10.0.0.3,n1\n', 'y.csv')).toThrow(/y.csv line 1: host name n1/)
    await f.stop()
  })
})
