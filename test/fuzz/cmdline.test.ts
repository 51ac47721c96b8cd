// The kernel command line (common/cmdline.ts) and the client's merge of it
// with flags (client/config): edited real command lines and random tokens.
// Parsed (warnings are fine) or IMGSWARM_ERR_*, never another throw.
import { isDeepStrictEqual } from 'node:util'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { resolveClientConfig } from '../../client/config/index.ts'
import { formatCmdline, parseCmdline } from '../../common/cmdline.ts'
import { CLEAN, campaign, failures, parserVerdict } from './harness.ts'
import { mutatedText } from './mutate.ts'
import { CMDLINE_SAMPLES, CMDLINE_TOKENS } from './parsers.ts'

const text = fc.oneof(
  { arbitrary: mutatedText(CMDLINE_SAMPLES, CMDLINE_TOKENS, 6), weight: 4 },
  { arbitrary: fc.array(fc.constantFrom(...CMDLINE_TOKENS), { maxLength: 12 }).map((t) => t.join('')), weight: 1 },
  { arbitrary: fc.string({ maxLength: 5000, unit: 'binary' }), weight: 1 },
)

describe('fuzz: kernel command line', () => {
  it('edited and random command lines: parsed, formatted back, merged; or IMGSWARM_ERR_*', async () => {
    const r = await campaign('cmdline', text, async (t) => {
      let params: ReturnType<typeof parseCmdline> | undefined
      const parsed = await parserVerdict(() => {
        params = parseCmdline(t)
      })
      if (parsed !== 'accepted' || params === undefined) return parsed
      const p = params
      // What we format must parse back to the same settings.
      const again = await parserVerdict(() => {
        const q = parseCmdline(formatCmdline(p))
        if (!isDeepStrictEqual({ ...q, warnings: [] }, { ...p, warnings: [] })) {
          throw new Error(`format/parse round trip differs: ${formatCmdline(p)}`)
        }
      })
      if (again !== 'accepted') return `round trip: ${again}`
      return parserVerdict(() => resolveClientConfig({ flags: {}, cmdline: t }))
    })
    expect(failures(r)).toEqual(CLEAN)
    expect(r.accepted).toBeGreaterThan(0)
    expect(r.refused).toBeGreaterThan(0)
  })
})
