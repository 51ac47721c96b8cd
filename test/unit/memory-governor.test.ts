// The install's memory governor (client/install/memory.ts): it runs a
// collection when the ArrayBuffer total has grown by its step, so dead piece
// and socket buffers do not pile up until V8's own external-memory trigger.
import { describe, expect, it } from 'vitest'
import { startGovernor } from '../../client/install/memory.ts'

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe('memory governor', () => {
  it('collects after every step of ArrayBuffer growth, and frees the dead buffers', async () => {
    const g = startGovernor({ stepBytes: 8 << 20, intervalMs: 5 })
    try {
      // 96 MiB of 1 MiB buffers that die at once, as written pieces do.
      for (let i = 0; i < 96; i++) {
        const b = Buffer.allocUnsafe(1 << 20)
        b[0] = i
        if (i % 4 === 0) await tick(10)
      }
      await tick(100)
      expect(g.stats.collections).toBeGreaterThan(0)
      expect(g.stats.peakArrayBuffers).toBeGreaterThan(8 << 20)
      // Without collections, 96 MiB would still be counted (V8 waits for about 64 MB of growth).
      expect(process.memoryUsage().arrayBuffers).toBeLessThan(48 << 20)
    } finally {
      g.stop()
    }
    const n = g.stats.collections
    for (let i = 0; i < 32; i++) Buffer.allocUnsafe(1 << 20)[0] = 1
    await tick(50)
    expect(g.stats.collections).toBe(n)
  })

  it('does nothing with a step of 0', async () => {
    const g = startGovernor({ stepBytes: 0, intervalMs: 5 })
    for (let i = 0; i < 32; i++) Buffer.allocUnsafe(1 << 20)[0] = 1
    await tick(50)
    expect(g.stats.collections).toBe(0)
    g.stop()
  })
})
