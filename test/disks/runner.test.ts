// The default CommandRunner: argument arrays only, coded errors that name the
// tool and carry its stderr, the Debian package when a tool is missing.
import { describe, expect, it } from 'vitest'
import { createCommandRunner } from '../../client/disks/index.ts'

const run = createCommandRunner()

describe('createCommandRunner', () => {
  it('passes arguments as data, never through a shell', async () => {
    const r = await run.run('printf', ['%s|', '$(id)', 'a b', ';ls'])
    expect(r.stdout).toBe('$(id)|a b|;ls|')
  })

  it('feeds stdin', async () => {
    expect((await run.run('cat', [], { input: 'label: gpt\n' })).stdout).toBe('label: gpt\n')
  })

  it('a failing tool: IMGSWARM_ERR_TOOL with the tool, its status and its stderr', async () => {
    await expect(run.run('sh', ['-c', 'echo "sfdisk: cannot open" >&2; exit 3'])).rejects.toMatchObject({
      code: 'IMGSWARM_ERR_TOOL',
      message: expect.stringMatching(/^sh failed: .*exit status 3: sfdisk: cannot open$/),
    })
  })

  it('a missing tool: IMGSWARM_ERR_TOOL with the Debian package to install', async () => {
    const bare = createCommandRunner({ path: '/nonexistent' })
    await expect(bare.run('mkfs.xfs', ['-f', '/dev/null'])).rejects.toMatchObject({
      code: 'IMGSWARM_ERR_TOOL',
      message: 'mkfs.xfs failed: not found on PATH',
      hint: 'install it: apt-get install xfsprogs',
    })
  })

  it('does not start a tool when the signal has already aborted', async () => {
    await expect(run.run('true', [], { signal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError' })
  })

  it('stops a hanging tool when the signal aborts', async () => {
    const ac = new AbortController()
    const p = run.run('sleep', ['30'], { signal: ac.signal })
    ac.abort()
    await expect(p).rejects.toMatchObject({ name: 'AbortError' })
  })
})
