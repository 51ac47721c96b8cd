// `imgswarm dashboard password` as a person runs it: the hash file it writes
// (mode 0600, scrypt, not the password), the rules, and --clear.
import { spawnSync } from 'node:child_process'
import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { readPasswordHash } from '../../seeder/dashboard/index.ts'
import { verifyPassword } from '../../seeder/dashboard/password.ts'
import { BIN } from '../support/cli.ts'
import { tempDir } from '../support/tmp.ts'

function run(args: string[], input: string) {
  const r = spawnSync(BIN, args, {
    input,
    encoding: 'utf8',
    env: { ...process.env, IMGSWARM_FROM_SOURCE: '1', IMGSWARM_CONFIG: 'none' },
    timeout: 60_000,
  })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

describe('imgswarm dashboard password', () => {
  it('stores an scrypt hash of the first stdin line in STORE/keys/dashboard.pass (0600); --clear removes it', async () => {
    const store = join(await tempDir(), 'store')
    const r = run(['dashboard', 'password', '--store', store], 'a long enough secret\nignored second line\n')
    expect(r.status, r.stderr).toBe(0)
    expect(r.stderr).toMatch(/dashboard password set/)
    const file = join(store, 'keys', 'dashboard.pass')
    expect((await stat(file)).mode & 0o777).toBe(0o600)
    const text = await readFile(file, 'utf8')
    expect(text).toMatch(/^scrypt\$32768\$8\$1\$/)
    expect(text).not.toContain('secret')
    const h = await readPasswordHash(store)
    expect(h).toBeDefined()
    expect(await verifyPassword('a long enough secret', h as NonNullable<typeof h>)).toBe(true)
    expect(await verifyPassword('a long enough secreT', h as NonNullable<typeof h>)).toBe(false)

    const short = run(['dashboard', 'password', '--store', store], 'short\n')
    expect(short.status).toBe(2)
    expect(short.stderr).toMatch(/IMGSWARM_ERR_PASSWORD: dashboard password: at least 10 characters/)
    // The refused one changed nothing.
    expect(await readFile(file, 'utf8')).toBe(text)

    const clear = run(['dashboard', 'password', '--store', store, '--clear'], '')
    expect(clear.status, clear.stderr).toBe(0)
    expect(await readPasswordHash(store)).toBeUndefined()
  })
})
