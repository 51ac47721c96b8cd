// imgswarm node and imgswarm db through the real launcher: against a running
// serve over its API, and on the database file when no server runs.
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { describe, expect, it } from 'vitest'
import { freePort } from '../serve/harness.ts'
import { tempDir } from '../support/tmp.ts'
import { body, cli, postEvent, serve } from './support.ts'

const GOOD = `mac,ip,hostname,group
52:54:00:00:01:01,10.0.1.1,rend01,render
52:54:00:00:01:02,10.0.1.2,rend02,render
# a spare without a name yet
52:54:00:00:01:03,10.0.1.3
`

describe('imgswarm node (through the server)', () => {
  it('imports, lists, shows, adopts, reimages, cancels and removes', async () => {
    const s = await serve()
    const at = ['--server', s.url, '--store', s.storeRoot]
    const csv = join(s.dir, 'nodes.csv')
    await writeFile(csv, GOOD)
    const imp = await cli(['node', 'import', csv, ...at])
    expect(imp.stderr).toContain('imported 3 node(s)')
    expect(imp.status).toBe(0)

    const bad = join(s.dir, 'bad.csv')
    await writeFile(bad, '52:54:00:00:02:01,10.0.2.1,new01\n52:54:00:00:02:02,10.0.2.999,new02\n')
    const refused = await cli(['node', 'import', bad, ...at])
    expect(refused.status).toBe(2)
    expect(refused.stderr).toMatch(/IMGSWARM_ERR_CSV: .*bad\.csv line 2: .*not an IP address; nothing was imported/)

    const list = JSON.parse((await cli(['node', 'list', '--json', ...at])).stdout)
    expect(list.nodes.map((n: { id: string }) => n.id)).toEqual(['52:54:00:00:01:03', 'rend01', 'rend02'])
    const table = await cli(['node', 'list', '--group', 'render', ...at])
    expect(table.stdout.split('\n')[0]).toMatch(/^ID\s+STATE\s+GROUP/)
    expect(table.stdout).toContain('rend02')
    expect(table.stdout).not.toContain('52:54:00:00:01:03')

    expect((await cli(['node', 'adopt', '52:54:00:00:01:03', '--group', 'spare', ...at])).stdout).toContain(
      'adopted into spare',
    )
    expect((await cli(['node', 'reimage', '--group', 'render', ...at])).stdout).toMatch(
      /rend01: reimage requested[\s\S]*rend02/,
    )
    expect((await cli(['node', 'reimage', '52:54:00:00:01:03', ...at])).status).toBe(0)
    const requested = JSON.parse((await cli(['node', 'list', '--state', 'reimage-requested', '--json', ...at])).stdout)
    expect(requested.nodes).toHaveLength(3)
    expect((await cli(['node', 'cancel', 'rend02', ...at])).stdout).toContain('rend02: cancelled (state idle)')

    await postEvent(s.url, {
      node: 'rend01',
      step: 'config',
      facts: { cpu: { model: 'Bench CPU', count: 4 }, memoryBytes: 2 ** 33, disks: [], nics: [] },
    })
    const show = await cli(['node', 'show', 'rend01', ...at])
    expect(show.stdout).toMatch(/state\s+installing/)
    expect(show.stdout).toMatch(/cpu\s+4 x Bench CPU/)
    expect(show.stdout).toContain('installs:')
    const detail = JSON.parse((await cli(['node', 'show', 'rend01', '--json', ...at])).stdout)
    expect(detail).toMatchObject({ id: 'rend01', group: 'render', installs: [{ result: 'running' }] })

    expect((await cli(['node', 'rm', 'rend02', ...at])).stdout).toContain('rend02: removed')
    const gone = await cli(['node', 'show', 'rend02', ...at])
    expect(gone.status).toBe(1)
    expect(gone.stderr).toContain('IMGSWARM_ERR_NODE_NOT_FOUND')
    expect(gone.stderr).toContain('what to do:')
    // The server saw all of it (the CLI did not write the file behind its back).
    expect((await body(fetch(`${s.url}/api/v1/nodes`, { headers: s.auth }))).nodes).toHaveLength(2)
  })

  it('says what is wrong: no ids, a wrong token, a bad state', async () => {
    const s = await serve()
    const at = ['--server', s.url, '--store', s.storeRoot]
    const none = await cli(['node', 'reimage', ...at])
    expect([none.status, none.stderr]).toEqual([2, expect.stringContaining('name node ids or --group GROUP')])
    const wrong = await cli(['node', 'list', '--server', s.url, '--token', 'not-the-token-at-all'])
    expect(wrong.status).toBe(2)
    expect(wrong.stderr).toContain('IMGSWARM_ERR_UNAUTHORIZED')
    const state = await cli(['node', 'list', '--state', 'sleeping', ...at])
    expect([state.status, state.stderr]).toEqual([2, expect.stringContaining('--state "sleeping": one of discovered')])
    const closed = await freePort()
    const down = await cli(['node', 'list', '--server', `http://127.0.0.1:${closed}`, '--store', s.storeRoot])
    expect([down.status, down.stderr]).toEqual([1, expect.stringContaining('cannot reach the server')])
  })
})

describe('imgswarm node and db (no server)', () => {
  it('opens STORE/fleet.db when no server answers at server_url; db backup and check', async () => {
    const dir = await tempDir('imgswarm-fleetcli-')
    const store = join(dir, 'store')
    const config = join(dir, 'imgswarm.toml')
    await writeFile(config, `server_url = "http://127.0.0.1:${await freePort()}"\nstore = "${store}"\n`)
    const csv = join(dir, 'nodes.csv')
    await writeFile(csv, GOOD)
    const noStore = await cli(['node', 'list', '--config', config])
    expect([noStore.status, noStore.stderr]).toEqual([1, expect.stringContaining('IMGSWARM_ERR_STORE_MISSING')])
    const imp = await cli(['node', 'import', csv, '--direct', '--config', config])
    expect(imp.status, imp.stderr).toBe(0)
    const list = await cli(['node', 'list', '--json', '--config', config])
    expect(list.stderr).toContain('no server answers')
    expect(JSON.parse(list.stdout).nodes).toHaveLength(3)
    expect((await cli(['node', 'reimage', 'rend01', '--config', config])).status).toBe(0)

    const backup = join(dir, 'backup.db')
    const b = await cli(['db', 'backup', backup, '--config', config])
    expect([b.status, b.stderr]).toEqual([0, expect.stringContaining(`to ${backup}`)])
    const again = await cli(['db', 'backup', backup, '--config', config])
    expect([again.status, again.stderr]).toEqual([2, expect.stringContaining('--force')])
    expect((await cli(['db', 'backup', backup, '--force', '--config', config])).status).toBe(0)
    const copy = new DatabaseSync(backup, { readOnly: true })
    expect(copy.prepare("SELECT state FROM nodes WHERE hostname = 'rend01'").get()).toEqual({
      state: 'reimage-requested',
    })
    copy.close()
    const check = await cli(['db', 'check', '--json', '--config', config])
    expect(JSON.parse(check.stdout)).toMatchObject({ ok: true, problems: [] })
  })
})
