// Every imgswarm.* kernel parameter, of the client (common/cmdline.ts) and of
// the boot image's /init (initramfs/init.sh), has a row in
// docs/kernel-parameters.md, and /init reads no key the client would warn
// about as unknown.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { CMDLINE_KEYS, INIT_KEYS } from '../../common/cmdline.ts'

const REPO = join(import.meta.dirname, '../..')

describe('imgswarm.* kernel parameters', () => {
  it('are all documented, with a table row each, and /init reads only known ones', async () => {
    const doc = await readFile(join(REPO, 'docs/kernel-parameters.md'), 'utf8')
    const init = await readFile(join(REPO, 'initramfs/init.sh'), 'utf8')
    const rows = new Set([...doc.matchAll(/^\| `imgswarm\.([a-z]+)` \|/gm)].map((m) => m[1]))
    const fromInit = new Set([...init.matchAll(/^\s+imgswarm\.([a-z]+)[=) |*]/gm)].map((m) => m[1]))
    expect(fromInit.size, 'the keys of init.sh were found').toBeGreaterThan(5)
    const known = [...CMDLINE_KEYS, ...INIT_KEYS]
    for (const k of known) expect(rows.has(k), `imgswarm.${k} has a row in docs/kernel-parameters.md`).toBe(true)
    for (const k of fromInit) expect(known, `init.sh reads imgswarm.${k}`).toContain(k)
    for (const k of rows) expect(known, `docs/kernel-parameters.md documents imgswarm.${k}`).toContain(k)
  })
})
