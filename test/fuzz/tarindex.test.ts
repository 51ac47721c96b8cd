// The archive index (common/tarindex): a valid index with byte edits,
// inserted tokens, repeated spans and swapped lines. parseIndex accepts or
// refuses with IMGSWARM_ERR_INDEX_INVALID, never anything else, never a hang.
import { describe, expect, it } from 'vitest'
import { parseIndex } from '../../common/tarindex/index.ts'
import { ARCHIVE_SIZE, BASE } from '../tarindex/fixtures.ts'
import { CLEAN, campaign, failures, parserVerdict } from './harness.ts'
import { mutatedBytes } from './mutate.ts'

const TOKENS = ['"h":', '"t":"file"', '"p":"Li4v"', '"e":[[0,1,0]]', '[', ']', '{', '}', '":', '-1', '1e3', '\n', ',\n']

describe('fuzz: archive index', () => {
  it('edited indexes: parsed or IMGSWARM_ERR_*', async () => {
    const r = await campaign('tarindex', mutatedBytes([BASE], TOKENS), (b) =>
      parserVerdict(() => parseIndex(b, { archiveSize: ARCHIVE_SIZE, maxBytes: 1 << 20 })),
    )
    expect(failures(r)).toEqual(CLEAN)
    expect(r.refused).toBeGreaterThan(0)
  })
})
