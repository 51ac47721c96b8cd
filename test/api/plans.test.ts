// Install plans: lookup by mac, hostname, ip and source address; defaults;
// 404 for unknown nodes, 409 for plans naming what cannot be served; the
// plans file's validation.
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { filePlanSource, type InstallPlan } from '../../seeder/api/index.ts'
import { normalizeMac, parsePlansToml } from '../../seeder/plans/index.ts'
import { tempDir } from '../support/tmp.ts'
import { fixture } from './helpers.ts'

describe('GET /api/v1/plan', () => {
  it('finds a node by mac, hostname or ip, with defaults filled in', async () => {
    const f = await fixture()
    const m2 = f.packed['base@2']?.info.manifest
    const site = f.packed['site@1']?.info.manifest
    for (const q of [
      'mac=52:54:00:12:34:56',
      'mac=52-54-00-12-34-56',
      'mac=525400123456',
      'mac=52%3A54%3A00%3A12%3A34%3A56'.toUpperCase().replace('MAC', 'mac'),
      'hostname=node001',
      'hostname=NODE001',
      'ip=10.0.0.11',
      'ip=::ffff:10.0.0.11',
    ]) {
      const r = await f.app.inject({ method: 'GET', url: `/api/v1/plan?${q}` })
      expect(r.statusCode, `${q}: ${r.body}`).toBe(200)
      const plan = r.json() as InstallPlan
      expect(plan).toEqual({
        apiVersion: 1,
        node: { hostname: 'node001', mac: '52:54:00:12:34:56', ip: '10.0.0.11' },
        image: {
          name: 'base',
          version: '2',
          infoHash: m2?.torrent.infoHash,
          torrent: '/api/v1/images/base/2/torrent',
          manifest: '/api/v1/images/base/2/manifest',
          signature: '/api/v1/images/base/2/manifest.sig',
          webseed: '/webseed/images/base@2.tar.zst',
          size: m2?.archive.size,
          sha256: m2?.archive.sha256,
          compression: 'zstd',
          index: null,
        },
        overrides: [
          {
            name: 'site',
            version: '1',
            infoHash: site?.torrent.infoHash,
            torrent: '/api/v1/overrides/site/1/torrent',
            manifest: '/api/v1/overrides/site/1/manifest',
            signature: '/api/v1/overrides/site/1/manifest.sig',
            webseed: '/webseed/overrides/site@1.tar',
            size: site?.archive.size,
            sha256: site?.archive.sha256,
            compression: 'none',
            index: '/api/v1/overrides/site/1/index',
          },
        ],
        post: 'reboot',
        disk: null,
      })
    }
  })

  it('lets a node override the defaults', async () => {
    const f = await fixture()
    const plan = (await f.app.inject({ method: 'GET', url: '/api/v1/plan?hostname=node002' })).json() as InstallPlan
    expect(plan.image).toMatchObject({ name: 'base', version: '1', compression: 'none' })
    expect(plan.overrides).toEqual([])
    expect(plan.post).toBe('poweroff')
  })

  it('falls back to the source address when no ip is given', async () => {
    const f = await fixture()
    // inject() comes from 127.0.0.1, which the third [[node]] names.
    const r = await f.app.inject({ method: 'GET', url: '/api/v1/plan' })
    expect(r.statusCode).toBe(200)
    expect(r.json().node).toEqual({ hostname: null, mac: null, ip: '127.0.0.1' })
    expect(r.json().image.version).toBe('1')
    // An unknown mac from a known address still finds the address's plan.
    const m = await f.app.inject({ method: 'GET', url: '/api/v1/plan?mac=02:00:00:00:00:01' })
    expect(m.statusCode).toBe(200)
    expect(m.json().node.mac).toBe('02:00:00:00:00:01')
    // From elsewhere, nothing matches.
    const other = await f.app.inject({ method: 'GET', url: '/api/v1/plan', remoteAddress: '10.1.1.1' })
    expect(other.statusCode).toBe(404)
  })

  it('is 404 with a hint for an unknown node, 400 for malformed identities', async () => {
    const f = await fixture()
    const r = await f.app.inject({ method: 'GET', url: '/api/v1/plan?hostname=stranger', remoteAddress: '10.1.1.1' })
    expect(r.statusCode).toBe(404)
    expect(r.json().error.message).toMatch(/install plan for hostname stranger, ip 10.1.1.1 not found/)
    expect(r.json().error.hint).toMatch(/plans\.toml/)
    for (const q of ['mac=zz:zz', 'hostname=-bad-', 'ip=999.1.1.1', 'color=blue']) {
      expect((await f.app.inject({ method: 'GET', url: `/api/v1/plan?${q}` })).statusCode, q).toBe(400)
    }
  })

  it('is 409, never a half plan, when the plan names something missing or unpacked', async () => {
    const f = await fixture({
      plans: `
[defaults]
overrides = ["site"]
[[node]]
hostname = "unpacked"
image = "base@3"
[[node]]
hostname = "missing"
image = "ghost"
[[node]]
hostname = "badoverride"
image = "base@1"
overrides = ["site", "nosuch@2"]
`,
    })
    const expectations: [string, RegExp][] = [
      ['unpacked', /image base@3 is not packed/],
      ['missing', /image ghost does not exist/],
      ['badoverride', /override nosuch@2 does not exist/],
    ]
    for (const [host, msg] of expectations) {
      const r = await f.app.inject({ method: 'GET', url: `/api/v1/plan?hostname=${host}` })
      expect(r.statusCode, host).toBe(409)
      expect(r.json().error.code).toBe('IMGSWARM_ERR_PLAN_UNRESOLVED')
      expect(r.json().error.message).toMatch(msg)
      expect(r.json().error.message).toContain('[[node]] #')
    }
  })

  it('treats a missing plans file as no plans, and picks it up on reload', async () => {
    const dir = await tempDir()
    const file = join(dir, 'plans.toml')
    const src = await filePlanSource(file)
    expect(src.planFor({ hostname: 'a' })).toBeUndefined()
    await writeFile(file, '[[node]]\nhostname = "a"\nimage = "x@1"\n')
    await src.reload?.()
    expect(src.planFor({ hostname: 'a' })).toMatchObject({ image: 'x@1', overrides: [], post: 'reboot' })
    expect(src.references()).toEqual([{ kind: 'image', name: 'x', version: '1' }])
  })
})

describe('plans.toml validation', () => {
  const bad: [string, RegExp][] = [
    ['[[node]]\nhostname = "a"\nimage = "x"\nfoo = 1\n', /\[\[node\]\] #1: unknown key "foo"/],
    ['[[node]]\nimage = "x"\n', /\[\[node\]\] #1: needs at least one of mac, hostname, ip/],
    [
      '[[node]]\nhostname = "a"\nimage = "x"\n[[node]]\nmac = "52:54:00:00:00:0g"\nimage = "x"\n',
      /#2: mac "52:54:00:00:00:0g"/,
    ],
    [
      '[[node]]\nhostname = "a"\nimage = "x"\n[[node]]\nhostname = "A"\nimage = "x"\n',
      /#2: hostname a is already used by \[\[node\]\] #1/,
    ],
    ['[[node]]\nhostname = "a"\n', /#1: has no image, and \[defaults\] sets none/],
    ['[[node]]\nhostname = "a"\nimage = "../x"\n', /#1: invalid image name/],
    ['[[node]]\nhostname = "a"\nimage = "x"\noverrides = "site"\n', /#1: overrides must be an array/],
    ['[[node]]\nhostname = "a"\nimage = "x"\npost = "explode"\n', /#1: post must be one of reboot, poweroff/],
    ['[[node]]\nip = "10.0.0.300"\nimage = "x"\n', /#1: ip "10.0.0.300" is not an IPv4 or IPv6 address/],
    ['[defaults]\nimage = "x"\ncolour = "red"\n', /\[defaults\]: unknown key "colour"/],
    ['[node]\nhostname = "a"\n', /node: must be an array of tables/],
    ['[[node]\n', /not valid TOML/],
    ['nodes = 1\n', /nodes: unknown key/],
  ]
  it.each(bad)('refuses %j', (text, msg) => {
    let err: unknown
    try {
      parsePlansToml(text, '/etc/imgswarm/plans.toml')
    } catch (e) {
      err = e
    }
    expect(err).toMatchObject({ code: 'IMGSWARM_ERR_CONFIG' })
    expect((err as Error).message).toContain('/etc/imgswarm/plans.toml')
    expect((err as Error).message).toMatch(msg)
  })

  it('normalises MAC addresses to lower-case colon form', () => {
    expect(normalizeMac('52-54-00-AB-CD-EF')).toBe('52:54:00:ab:cd:ef')
    expect(normalizeMac('525400ABCDEF')).toBe('52:54:00:ab:cd:ef')
    expect(normalizeMac('52:54-00:ab:cd:ef')).toBeUndefined()
    const cfg = parsePlansToml('[[node]]\nmac = "52:54:00:AB:CD:EF"\nimage = "x"\n', 'p.toml')
    expect(cfg.nodes[0]?.mac).toBe('52:54:00:ab:cd:ef')
  })
})
