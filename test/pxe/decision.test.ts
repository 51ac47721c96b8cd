// The per-node boot decision with the real fleet database (seeder/fleet on
// node:sqlite) behind the real API: unknown MACs are recorded as discovered
// and boot locally; `node reimage` makes the next script the installer; a
// verified install (a `done` event) sends the node back to its local disk,
// and a failed one does not.
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { afterEach, describe, expect, it } from 'vitest'
import { createApi, filePlanSource, loadOrCreateAdminToken } from '../../seeder/api/index.ts'
import { type Fleet, fleetEventSink, openFleet } from '../../seeder/fleet/index.ts'
import { Store } from '../../seeder/index.ts'
import { tempDir } from '../support/tmp.ts'

const open: { app: FastifyInstance; fleet: Fleet }[] = []
afterEach(async () => {
  for (const o of open.splice(0)) {
    await o.app.close()
    await o.fleet.stop()
  }
})

async function setup() {
  const dir = await tempDir('imgswarm-boot-decision-')
  const store = new Store(join(dir, 'store'))
  await mkdir(join(store.root, 'boot'), { recursive: true })
  await writeFile(join(store.root, 'boot/kernel'), 'k')
  await writeFile(join(store.root, 'boot/initramfs'), 'i')
  await writeFile(join(dir, 'plans.toml'), '')
  const fleet = openFleet({ file: join(dir, 'fleet.db') })
  fleet.start()
  const token = await loadOrCreateAdminToken(store.root)
  const app = await createApi({
    store,
    adminToken: token,
    plans: await filePlanSource(join(dir, 'plans.toml')),
    events: fleetEventSink(fleet),
    fleet,
    publicUrl: 'http://10.0.0.1:8470',
  })
  open.push({ app, fleet })
  const script = async (mac: string) => (await app.inject({ url: `/api/v1/boot/ipxe?mac=${mac}` })).body
  const event = async (node: string, step: string, extra: Record<string, unknown> = {}) => {
    const r = await app.inject({ method: 'POST', url: '/api/v1/events', payload: { node, step, ...extra } })
    expect(r.statusCode, r.body).toBe(202)
  }
  const reimage = async (id: string) => {
    const r = await app.inject({
      method: 'POST',
      url: `/api/v1/nodes/${encodeURIComponent(id)}/reimage`,
      headers: { authorization: `Bearer ${token}` },
    })
    expect(r.statusCode, r.body).toBe(200)
  }
  return { app, fleet, script, event, reimage }
}

const LOCAL = /booting from the local disk\nexit\n$/
const REIMAGE =
  /^kernel --name kernel http:\/\/10\.0\.0\.1:8470\/api\/v1\/boot\/kernel .*imgswarm\.mac=52:54:00:0d:00:01/m

describe('boot decisions from the fleet database', () => {
  it('an unknown MAC boots locally and is recorded as discovered, with its address', async () => {
    const { script, fleet } = await setup()
    expect(await script('52-54-00-0D-00-01')).toMatch(LOCAL)
    const nodes = fleet.list()
    expect(nodes).toHaveLength(1)
    expect(nodes[0]).toMatchObject({ mac: '52:54:00:0d:00:01', state: 'discovered', ip: '127.0.0.1' })
  })

  it('reimage after node reimage; back to local after the verified install, and again on request', async () => {
    const { script, event, reimage, fleet } = await setup()
    const mac = '52:54:00:0d:00:01'
    await script(mac)
    fleet.adopt(mac, 'lab')
    expect(await script(mac)).toMatch(LOCAL)
    await reimage(mac)
    expect(await script(mac)).toMatch(REIMAGE)
    // The node reboots during the install (or PXE-boots again before it starts): still the installer.
    expect(await script(mac)).toMatch(REIMAGE)
    await event(mac, 'config')
    await event(mac, 'download', { percent: 50 })
    expect(await script(mac)).toMatch(REIMAGE)
    await event(mac, 'done')
    expect(fleet.list()[0]?.state).toBe('done')
    expect(await script(mac)).toMatch(LOCAL)
    expect(await script(mac)).toMatch(LOCAL)
    await reimage(mac)
    expect(await script(mac)).toMatch(REIMAGE)
  })

  it('a failed install keeps the request: the next boot tries again', async () => {
    const { script, event, reimage, fleet } = await setup()
    const mac = '52:54:00:0d:00:01'
    await script(mac)
    fleet.adopt(mac, 'lab')
    await reimage(mac)
    await event(mac, 'config')
    await event(mac, 'failed', { code: 'IMGSWARM_ERR_CHECKSUM', message: 'bad piece' })
    expect(await script(mac)).toMatch(REIMAGE)
  })

  it('a reimage requested for one node changes no other node', async () => {
    const { script, reimage, fleet } = await setup()
    await script('52:54:00:0d:00:01')
    await script('52:54:00:0d:00:02')
    fleet.adopt('52:54:00:0d:00:01', 'lab')
    await reimage('52:54:00:0d:00:01')
    expect(await script('52:54:00:0d:00:02')).toMatch(LOCAL)
  })
})
