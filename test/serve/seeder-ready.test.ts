// Readiness of the first seeder: ready once listening and the first scan of
// the store is done, and it stays ready while later rescans run (they ran
// every 5 s and made /api/v1/health/ready answer 503 each time, so probes
// flapped). A real webtorrent client on a real socket, a real packed store.
import { afterEach, describe, expect, it } from 'vitest'
import { FirstSeeder } from '../../seeder/swarm/first-seeder.ts'
import { tempDir } from '../support/tmp.ts'
import { packedStore } from './harness.ts'

let seeder: FirstSeeder | undefined
afterEach(async () => {
  await seeder?.stop()
  seeder = undefined
})

describe('first seeder readiness', () => {
  it('is not ready before start, ready after the first scan, and stays ready during a rescan', async () => {
    const dir = await tempDir('imgswarm-seeder-ready-')
    const { store } = await packedStore(dir, 1)
    seeder = new FirstSeeder({ store, announce: ['http://127.0.0.1:9/announce'], host: '127.0.0.1', pollMs: 0 })
    expect(seeder.ready()).toBe(false)
    await seeder.start()
    expect(seeder.ready()).toBe(true)
    expect(seeder.port).toBeGreaterThan(0)
    const rescan = seeder.refresh()
    expect(seeder.ready()).toBe(true)
    await rescan
    expect(seeder.ready()).toBe(true)
  })
})
