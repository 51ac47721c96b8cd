// The campaign harness itself must be able to see a crash and a hang.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { errors } from '../../common/errors.ts'
import { campaign, campaignSeed, parserVerdict } from './harness.ts'

describe('fuzz harness', () => {
  it('sorts outcomes: accepted, coded refusal, crash (a TypeError), hang (sync overrun and async deadline)', async () => {
    const r = await campaign(
      'self-test',
      fc.integer({ min: 0, max: 3 }),
      async (n) => {
        if (n === 0) return parserVerdict(() => 1)
        if (n === 1)
          return parserVerdict(() => {
            throw errors.usage('no')
          })
        if (n === 2) return parserVerdict(() => (undefined as unknown as { x: number }).x)
        return n % 2 === 1 ? new Promise<never>(() => undefined) : 'accepted'
      },
      { runs: 40, hangMs: 30, record: false },
    )
    expect(r.tried).toBe(40)
    expect(r.accepted + r.refused + r.crashes + r.hangs).toBe(40)
    expect(r.refused).toBeGreaterThan(0)
    expect(r.crashes).toBeGreaterThan(0)
    expect(r.hangs).toBeGreaterThan(0)
    expect(r.samples.find((s) => s.kind === 'crash')?.detail).toMatch(/^TypeError/)
  })

  it('a synchronous case that overruns the bound counts as a hang', async () => {
    const r = await campaign(
      'self-test-sync',
      fc.constant(0),
      () => {
        const end = Date.now() + 40
        while (Date.now() < end);
        return 'accepted'
      },
      { runs: 2, hangMs: 20, record: false },
    )
    expect(r.hangs).toBe(2)
  })

  it('short runs replay a fixed seed per target; long runs explore; IMGSWARM_FUZZ_SEED wins', () => {
    const saved = process.env.IMGSWARM_FUZZ_SEED
    try {
      delete process.env.IMGSWARM_FUZZ_SEED
      expect(campaignSeed('tar', 200)).toBe(campaignSeed('tar', 200))
      expect(campaignSeed('tar', 200)).not.toBe(campaignSeed('manifest', 200))
      expect(campaignSeed('tar', 10000)).not.toBe(campaignSeed('tar', 200))
      process.env.IMGSWARM_FUZZ_SEED = '42'
      expect(campaignSeed('tar', 200)).toBe(42)
      expect(campaignSeed('tar', 10000)).toBe(42)
    } finally {
      if (saved === undefined) delete process.env.IMGSWARM_FUZZ_SEED
      else process.env.IMGSWARM_FUZZ_SEED = saved
    }
  })
})
