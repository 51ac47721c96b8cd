// GET .../NAME/VER/index: the archive index for nodes, under the manifest's
// access rule; plans carry its URL and the node's disk layout from plans.toml.
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parsePlansToml } from '../../seeder/plans/index.ts'
import { bearer, DEFAULT_PLANS, fixture } from './helpers.ts'

const LAYOUT = `table = "gpt"

[[partition]]
label = "esp"
size = "512MiB"
fs = "vfat"
mount = "/boot/efi"
flags = ["esp"]

[[partition]]
label = "root"
size = "grow"
fs = "ext4"
mount = "/"
`

describe('GET /api/v1/{images|overrides}/NAME/VER/index', () => {
  it('serves the index bytes exactly as stored, for planned versions', async () => {
    const f = await fixture()
    for (const [url, p] of [
      ['/api/v1/images/base/1/index', f.packed['base@1']],
      ['/api/v1/overrides/site/1/index', f.packed['site@1']],
    ] as const) {
      const r = await f.app.inject({ method: 'GET', url })
      expect(r.statusCode, url).toBe(200)
      expect(r.headers['content-type']).toMatch(/^application\/json/)
      expect(r.rawPayload.equals(await readFile(p?.info.index as string))).toBe(true)
      expect(Number(r.headers['content-length'])).toBe(p?.info.manifest.index?.size)
    }
  })

  it('is 404 IMGSWARM_ERR_NO_INDEX for a zstd archive', async () => {
    const f = await fixture()
    const r = await f.app.inject({ method: 'GET', url: '/api/v1/images/base/2/index' })
    expect(r.statusCode).toBe(404)
    expect(r.json().error.code).toBe('IMGSWARM_ERR_NO_INDEX')
  })

  it('follows the manifest rule: unplanned versions only with the admin token', async () => {
    const f = await fixture()
    const url = '/api/v1/images/other/1/index'
    const r = await f.app.inject({ method: 'GET', url })
    expect(r.statusCode).toBe(404)
    expect(r.json().error.code).toBe('IMGSWARM_ERR_NOT_FOUND')
    const admin = await f.app.inject({ method: 'GET', url, headers: bearer(f.token) })
    expect(admin.statusCode).toBe(200)
  })

  it('is 404 for unpacked and unknown versions, 400 for bad names', async () => {
    const f = await fixture()
    const code = async (url: string) => {
      const r = await f.app.inject({ method: 'GET', url, headers: bearer(f.token) })
      return [r.statusCode, r.json().error.code]
    }
    expect(await code('/api/v1/images/base/3/index')).toEqual([404, 'IMGSWARM_ERR_NOT_PACKED'])
    expect(await code('/api/v1/images/base/9/index')).toEqual([404, 'IMGSWARM_ERR_NOT_FOUND'])
    expect((await code('/api/v1/images/..%2fx/1/index'))[0]).toBe(400)
  })
})

describe('plans: index URLs and disk layouts', () => {
  it('puts the index URL in the plan for uncompressed archives only', async () => {
    const f = await fixture()
    const plan = (await f.app.inject({ method: 'GET', url: '/api/v1/plan?hostname=node001' })).json()
    expect(plan.image.compression).toBe('zstd')
    expect(plan.image.index).toBeNull()
    expect(plan.overrides[0].index).toBe('/api/v1/overrides/site/1/index')
    const one = (await f.app.inject({ method: 'GET', url: '/api/v1/plan?hostname=node002' })).json()
    expect(one.image.index).toBe('/api/v1/images/base/1/index')
  })

  it('serves the layout of [defaults] or of the [[node]], read relative to the plans file', async () => {
    const f = await fixture()
    await writeFile(join(f.dir, 'default.toml'), LAYOUT)
    await writeFile(
      join(f.dir, 'small.json'),
      JSON.stringify({ table: 'msdos', partition: [{ label: 'r', size: 'grow', fs: 'xfs', mount: '/' }] }),
    )
    const plans = DEFAULT_PLANS.replace('post = "reboot"', 'post = "reboot"\nlayout = "default.toml"').replace(
      'post = "poweroff"',
      'post = "poweroff"\nlayout = "./small.json"',
    )
    await writeFile(f.plansFile, plans)
    expect(
      (await f.app.inject({ method: 'POST', url: '/api/v1/plans/reload', headers: bearer(f.token) })).statusCode,
    ).toBe(200)
    const p1 = (await f.app.inject({ method: 'GET', url: '/api/v1/plan?hostname=node001' })).json()
    expect(p1.disk).toEqual({
      table: 'gpt',
      partition: [
        { label: 'esp', size: '512MiB', fs: 'vfat', mount: '/boot/efi', flags: ['esp'] },
        { label: 'root', size: 'grow', fs: 'ext4', mount: '/' },
      ],
    })
    const p2 = (await f.app.inject({ method: 'GET', url: '/api/v1/plan?hostname=node002' })).json()
    expect(p2.disk).toEqual({ table: 'msdos', partition: [{ label: 'r', size: 'grow', fs: 'xfs', mount: '/' }] })
  })

  it('refuses a plans file whose layout is bad or missing, naming both files', () => {
    const files: Record<string, string> = {
      '/etc/imgswarm/bad.toml':
        'table = "gpt"\n[[partition]]\nlabel = "root"\nsize = "12MB"\nfs = "ext4"\nmount = "/"\n',
    }
    const read = (p: string) => {
      const t = files[p]
      if (t === undefined) throw Object.assign(new Error('no such file'), { code: 'ENOENT' })
      return t
    }
    const parse = (text: string) => () => parsePlansToml(text, '/etc/imgswarm/plans.toml', read)
    expect(parse('[defaults]\nimage = "a"\nlayout = "bad.toml"\n')).toThrow(
      expect.objectContaining({
        code: 'IMGSWARM_ERR_CONFIG',
        message: expect.stringMatching(
          /plans\.toml: \[defaults\]: layout "bad\.toml": disk layout \/etc\/imgswarm\/bad\.toml: .*"size"/,
        ),
      }),
    )
    expect(parse('[defaults]\nimage = "a"\n[[node]]\nhostname = "n1"\nlayout = "gone.toml"\n')).toThrow(
      expect.objectContaining({
        code: 'IMGSWARM_ERR_CONFIG',
        message: expect.stringMatching(
          /\[\[node\]\] #1: layout "gone\.toml": disk layout \/etc\/imgswarm\/gone\.toml: cannot read it \(ENOENT\)/,
        ),
      }),
    )
    expect(parse('[defaults]\nimage = "a"\nlayout = 5\n')).toThrow(
      expect.objectContaining({ code: 'IMGSWARM_ERR_CONFIG' }),
    )
  })

  it('keeps the previous plans when a reload meets a bad layout', async () => {
    const f = await fixture()
    await writeFile(join(f.dir, 'bad.toml'), 'table = "zfs"\n')
    await writeFile(f.plansFile, DEFAULT_PLANS.replace('post = "reboot"', 'post = "reboot"\nlayout = "bad.toml"'))
    const r = await f.app.inject({ method: 'POST', url: '/api/v1/plans/reload', headers: bearer(f.token) })
    expect(r.statusCode).toBe(422)
    expect(r.json().error.message).toContain('bad.toml')
    const plan = (await f.app.inject({ method: 'GET', url: '/api/v1/plan?hostname=node001' })).json()
    expect(plan.disk).toBeNull()
  })
})
