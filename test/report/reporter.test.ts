// The reporter against a real `serve`: events arrive in order, progress is
// throttled, and events queued while the server was down are delivered once
// it answers (the server is started late on the port the reporter uses).
import { afterEach, describe, expect, it } from 'vitest'
import { createReporter } from '../../client/report/index.ts'
import { freePort, packedStore, type Running, startServe } from '../serve/harness.ts'
import { storedEvents } from '../support/events.ts'
import { tempDir } from '../support/tmp.ts'

let running: Running | undefined
afterEach(async () => {
  await running?.stop()
  running = undefined
})

describe('reporter', () => {
  it('posts steps in order, throttles progress, and carries the failure code and log tail', async () => {
    const dir = await tempDir()
    const { store } = await packedStore(dir, 1)
    running = await startServe(store)
    const r = createReporter({ url: running.url, node: 'node01', progressEveryMs: 200 })
    r.step('config', 'asking')
    for (let i = 0; i <= 50; i++) r.progress({ step: 'download', percent: i * 2, bytesDown: i })
    r.step('download', 'done downloading')
    r.failed('IMGSWARM_ERR_CHECKSUM', 'bad', ['line 1', 'line 2'])
    expect(await r.flush(10_000)).toBe(true)
    r.close()
    const got = await storedEvents(running.url, store.root, 'node01')
    expect(got[0]).toMatchObject({ step: 'config', message: 'asking' })
    const progress = got.filter((e) => e.percent !== undefined)
    // 51 updates within a few ms: throttled to the newest one.
    expect(progress.length).toBeGreaterThanOrEqual(1)
    expect(progress.length).toBeLessThan(5)
    expect(progress.at(-1)?.percent).toBe(100)
    expect(got.map((e) => e.step).slice(-2)).toEqual(['download', 'failed'])
    expect(got.at(-1)).toMatchObject({ code: 'IMGSWARM_ERR_CHECKSUM', logTail: ['line 1', 'line 2'] })
  })

  it('queues events while the server is unreachable and delivers them in order later', async () => {
    const dir = await tempDir()
    const { store } = await packedStore(dir, 1)
    const port = await freePort()
    const troubles: string[] = []
    const r = createReporter({ url: `http://127.0.0.1:${port}`, node: 'node02', onTrouble: (m) => troubles.push(m) })
    r.step('config')
    r.step('disks')
    expect(await r.flush(700)).toBe(false)
    expect(troubles.join('\n')).toContain('cannot reach')
    running = await startServe(store, { port, publicUrl: `http://127.0.0.1:${port}` })
    expect(await r.flush(30_000)).toBe(true)
    r.close()
    expect((await storedEvents(running.url, store.root, 'node02')).map((e) => e.step)).toEqual(['config', 'disks'])
  })

  it('reports a node name the server would refuse as "unknown" rather than losing the events', async () => {
    const dir = await tempDir()
    const { store } = await packedStore(dir, 1)
    running = await startServe(store)
    const r = createReporter({ url: running.url, node: 'bad name;rm -rf' })
    r.step('config')
    expect(await r.flush(10_000)).toBe(true)
    r.close()
    expect((await storedEvents(running.url, store.root, 'unknown')).map((e) => e.step)).toEqual(['config'])
  })
})
