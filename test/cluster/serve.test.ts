// The cluster config in a real `serve`: GET /api/v1/plan resolves from
// STORE/cluster.toml (or serve.cluster), the server rereads the file when it
// changes, and a bad edit leaves the config in force with the problem logged
// at its line. plans.toml keeps working when there is no cluster file.
import { mkdir, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import pino from 'pino'
import { afterEach, describe, expect, it } from 'vitest'
import type { InstallPlan } from '../../seeder/api/index.ts'
import { clusterPlanSource } from '../../seeder/cluster/index.ts'
import { packVersion, type Store } from '../../seeder/index.ts'
import { GPT_EXAMPLE } from '../layout/fixtures.ts'
import { packedStore, type Running, startServe } from '../serve/harness.ts'
import { tempDir } from '../support/tmp.ts'

const running: Running[] = []
const closers: (() => void)[] = []
afterEach(async () => {
  for (const c of closers.splice(0)) c()
  for (const r of running.splice(0)) await r.stop()
})

/** Polls until the check passes; the test's own timeout bounds the wait (no timed assertion). */
async function until(check: () => Promise<boolean> | boolean): Promise<void> {
  while (!(await check())) await new Promise((r) => setTimeout(r, 50))
}

/** Replaces a file the way editors and `cluster edit` do: write a copy, rename it over. */
async function replace(file: string, text: string): Promise<void> {
  await writeFile(`${file}.tmp`, text)
  await rename(`${file}.tmp`, file)
}

async function override(store: Store, dir: string, ref: string): Promise<void> {
  const tree = join(dir, `tree-${ref}`)
  await mkdir(join(tree, 'etc'), { recursive: true })
  await writeFile(join(tree, 'etc', ref.split('@')[0] as string), `${ref}\n`)
  await store.import('override', tree, ref)
  await packVersion(store, 'override', ref, {
    compression: 'none',
    announce: ['http://127.0.0.1:1/announce'],
    webseeds: ['http://127.0.0.1:1/webseed/'],
  })
}

const CLUSTER = `[global]
image = "img"
overrides = ["site"]
post = "none"

[[group]]
name = "gpu"
priority = 5
hosts = ["gpu[1-2]"]
overrides = ["extra"]
post = "reboot"

[[host]]
hostname = "node001"
mac = "52:54:00:12:34:56"
overrides = ["missing"]
`

describe('serve with a cluster config', () => {
  it('answers plans from the cluster file, rereads it on change, and keeps the old config on a bad edit', async () => {
    const dir = await tempDir()
    const { store } = await packedStore(dir, 1)
    await override(store, dir, 'site@1')
    await override(store, dir, 'extra@1')
    const file = join(store.root, 'cluster.toml')

    // Without a cluster file, plans.toml answers as before.
    await writeFile(join(store.root, 'plans.toml'), '[defaults]\nimage = "img"\n[[node]]\nhostname = "old1"\n')
    let r = await startServe(store)
    running.push(r)
    expect((await fetch(`${r.url}/api/v1/plan?hostname=old1`)).status).toBe(200)
    await r.stop()
    running.pop()

    await writeFile(file, CLUSTER)
    r = await startServe(store)
    running.push(r)
    const plan = async (q: string) => fetch(`${r.url}/api/v1/plan?${q}`)

    // Now the cluster file answers, and plans.toml is not read.
    expect((await plan('hostname=old1')).status).toBe(404)
    const gpu = await plan('hostname=gpu2')
    expect(gpu.status).toBe(200)
    const p = (await gpu.json()) as InstallPlan
    expect(p.image.name).toBe('img')
    expect(p.overrides.map((o) => `${o.name}@${o.version}`)).toEqual(['site@1', 'extra@1'])
    expect(p.post).toBe('reboot')
    expect(p.node).toEqual({ hostname: 'gpu2', mac: null, ip: '127.0.0.1' })

    const unknown = await plan('hostname=gpu3')
    expect(unknown.status).toBe(404)
    const body = (await unknown.json()) as { error: { hint: string } }
    expect(body.error.hint).toContain(file)

    // The plan names an override that does not exist: 409 naming the file and line.
    const broken = await plan('mac=52-54-00-12-34-56')
    expect(broken.status).toBe(409)
    const b = (await broken.json()) as { error: { message: string } }
    expect(b.error.message).toContain(`override missing does not exist (plan from ${file}:13 (host node001))`)

    // An edit is picked up without a restart or a reload call.
    await replace(file, CLUSTER.replace('gpu[1-2]', 'gpu[1-3]'))
    await until(async () => (await plan('hostname=gpu3')).status === 200)

    // A bad edit: the config in force stays; a reload call says what is wrong, with the line.
    await replace(file, CLUSTER.replace('gpu[1-2]', 'gpu[2-1]').replace('post = "none"', 'post = "later"'))
    const token = (await import('node:fs/promises')).readFile(r.server.adminTokenFile, 'utf8')
    const reload = await fetch(`${r.url}/api/v1/plans/reload`, {
      method: 'POST',
      headers: { authorization: `Bearer ${(await token).trim()}` },
    })
    expect(reload.status).toBe(422)
    const err = (await reload.json()) as { error: { code: string; message: string } }
    expect(err.error.code).toBe('IMGSWARM_ERR_CONFIG')
    expect(err.error.message).toContain(`${file}:4:1: unknown post-action "later"`)
    expect(err.error.message).toContain(`${file}:9:10: bad host range: gpu[2-1]`)
    expect((await plan('hostname=gpu3')).status).toBe(200)
    expect((await plan('hostname=gpu1')).status).toBe(200)
  })

  it('uses serve.cluster when set, even when it does not exist yet, and picks the file up when it appears', async () => {
    const dir = await tempDir()
    const { store } = await packedStore(dir, 1)
    const file = join(dir, 'etc', 'cluster.toml')
    await mkdir(join(dir, 'etc'))
    const r = await startServe(store, { clusterFile: file })
    running.push(r)
    expect((await fetch(`${r.url}/api/v1/plan?hostname=n1`)).status).toBe(404)
    await replace(file, '[global]\nimage = "img@1"\n[[group]]\nname = "all"\nhosts = ["n[1-9]"]\n')
    await until(async () => (await fetch(`${r.url}/api/v1/plan?hostname=n1`)).status === 200)
  })
})

describe('the cluster plan source watching its file', () => {
  it('logs a bad edit with its line and column and keeps serving the previous config', async () => {
    const dir = await tempDir()
    const file = join(dir, 'cluster.toml')
    await writeFile(file, '[global]\nimage = "base"\n[[group]]\nname = "a"\nhosts = ["n[1-2]"]\n')
    const lines: string[] = []
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(...String(chunk).split('\n').filter(Boolean))
        done()
      },
    })
    const src = await clusterPlanSource({ file, logger: pino({ level: 'info' }, sink), debounceMs: 20 })
    closers.push(() => src.close())
    expect(src.planFor({ hostname: 'n2' })?.image).toBe('base')

    await replace(file, '[global]\nimage = "base"\n[[group]]\nname = "a"\nhosts = ["n[1-2]", "m[9-1]"]\n')
    await until(() => lines.some((l) => l.includes('not reloaded')))
    const logged = JSON.parse(lines.find((l) => l.includes('not reloaded')) as string) as { msg: string; level: number }
    expect(logged.level).toBe(50)
    expect(logged.msg).toContain(`${file}:5:20: bad host range: m[9-1]: range 9-1 runs backwards`)
    expect(src.planFor({ hostname: 'n2' })?.image).toBe('base')
    expect(src.generation).toBe(1)

    await replace(file, '[global]\nimage = "other"\n[[group]]\nname = "a"\nhosts = ["n[1-3]"]\n')
    await until(() => src.generation === 2)
    expect(src.planFor({ hostname: 'n3' })?.image).toBe('other')
  })

  it('rereads when a layout file it names changes, in another directory too', async () => {
    const dir = await tempDir()
    const file = join(dir, 'cluster.toml')
    await mkdir(join(dir, 'layouts'))
    await writeFile(join(dir, 'layouts', 'l.toml'), GPT_EXAMPLE)
    await writeFile(
      file,
      '[global]\nimage = "base"\nlayout = "layouts/l.toml"\n[[group]]\nname = "a"\nhosts = ["n1"]\n',
    )
    const src = await clusterPlanSource({ file, debounceMs: 20 })
    closers.push(() => src.close())
    expect(src.planFor({ hostname: 'n1' })?.disk?.partition.at(-1)?.label).toBe('root')
    await replace(join(dir, 'layouts', 'l.toml'), GPT_EXAMPLE.replace('label = "root"', 'label = "system"'))
    await until(() => src.generation === 2)
    expect(src.planFor({ hostname: 'n1' })?.disk?.partition.at(-1)?.label).toBe('system')
    // A broken layout is a broken config: the previous one stays.
    await replace(join(dir, 'layouts', 'l.toml'), 'table = "zfs"\n')
    await expect(src.reload()).rejects.toThrow(
      /cluster\.toml:3:1: layout "layouts\/l\.toml": .*"table" must be "gpt" or "msdos"/,
    )
    expect(src.planFor({ hostname: 'n1' })?.disk?.partition.at(-1)?.label).toBe('system')
  })
})
