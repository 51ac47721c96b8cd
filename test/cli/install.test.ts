// `npm install -g .` (like `npm link`) from the checkout gives a working
// `imgswarm` on the PATH even when the system Node is older than 24: the
// launcher finds the project's own Node 24.
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { tempDir } from '../support/tmp.ts'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))

describe('global install', () => {
  it('installs a launcher that runs on the project Node 24', async () => {
    const prefix = await tempDir()
    const npm = spawnSync('npm', ['install', '-g', '--prefix', prefix, '--no-audit', '--no-fund', ROOT], {
      encoding: 'utf8',
      timeout: 120_000,
    })
    expect(npm.status, npm.stderr).toBe(0)
    // A PATH without node_modules/.bin: only the system's (older) node, if any.
    const env = {
      PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      HOME: process.env.HOME ?? '/root',
    }
    const r = spawnSync(join(prefix, 'bin/imgswarm'), ['--version'], { encoding: 'utf8', env, cwd: '/' })
    expect(r.stderr).toBe('')
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/)
  })
})
