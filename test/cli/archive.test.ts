// `imgswarm archive extract` refuses a hostile archive with its error code
// and exit status 3, and writes nothing outside the target.
import { readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { pack } from 'tar-stream'
import { describe, expect, it } from 'vitest'
import { cli } from '../support/cli.ts'
import { tempDir } from '../support/tmp.ts'

async function tarOf(entries: { name: string; body?: string }[]): Promise<Buffer> {
  const p = pack()
  for (const e of entries) p.entry({ name: e.name }, e.body ?? '')
  p.finalize()
  const chunks: Buffer[] = []
  for await (const c of p) chunks.push(c as Buffer)
  return Buffer.concat(chunks)
}

describe('imgswarm archive', () => {
  it('extract exits 3 with IMGSWARM_ERR_PATH_ESCAPE on ../ and leaves the outside alone', async () => {
    const dir = await tempDir()
    const file = join(dir, 'evil.tar')
    await writeFile(
      file,
      await tarOf([
        { name: 'ok.txt', body: 'fine' },
        { name: '../escaped.txt', body: 'pwned' },
      ]),
    )
    const r = cli(['archive', 'extract', file, join(dir, 'target')])
    expect(r.status).toBe(3)
    expect(r.stderr).toContain('IMGSWARM_ERR_PATH_ESCAPE')
    expect(r.stderr).toContain('escaped.txt')
    expect((await readdir(dir)).sort()).toEqual(['evil.tar', 'target'])
  })

  it('list shows entries like tar -tvf, and --json for scripts', async () => {
    const dir = await tempDir()
    const file = join(dir, 'ok.tar')
    await writeFile(file, await tarOf([{ name: 'etc/hostname', body: 'golden\n' }]))
    const r = cli(['archive', 'list', file])
    expect(r.status).toBe(0)
    expect(r.stdout).toMatch(/^-rw-r--r-- 0\/0 +7 .* etc\/hostname$/m)
    const j = cli(['archive', 'list', file, '--json'])
    expect(JSON.parse(j.stdout)).toEqual([expect.objectContaining({ path: 'etc/hostname', type: 'file', size: 7 })])
  })

  it('extract exits 3 on a truncated archive', async () => {
    const dir = await tempDir()
    const file = join(dir, 'cut.tar')
    const whole = await tarOf([{ name: 'big', body: 'x'.repeat(5000) }])
    await writeFile(file, whole.subarray(0, 2048))
    const r = cli(['archive', 'extract', file, join(dir, 'target')])
    expect(r.status).toBe(3)
    expect(r.stderr).toContain('IMGSWARM_ERR_ARCHIVE_TRUNCATED')
  })
})
