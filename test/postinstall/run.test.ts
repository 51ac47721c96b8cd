// Post-install scripts really run in a chroot of a minimal busybox tree, with
// /dev, /proc and /sys mounted for them and unmounted afterwards.
import { chmodSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { type PostInstallError, runPostInstall } from '../../client/postinstall/index.ts'
import { isImgswarmError } from '../../common/errors.ts'
import { isRoot } from '../support/tmp.ts'
import { busyboxTree, chrootDir, chrootSkipReason, mountsUnder } from './tree.ts'

const why = chrootSkipReason(isRoot)
if (why !== '') console.warn(`test/postinstall: skipped: ${why}`)

const ENV = {
  IMGSWARM_HOSTNAME: 'node007',
  IMGSWARM_IMAGE: 'debian',
  IMGSWARM_VERSION: '3',
  IMGSWARM_SERVER: 'http://10.0.0.1:8080',
  IMGSWARM_MAC: '52:54:00:12:34:56',
  IMGSWARM_IP: '10.0.0.7',
  IMGSWARM_DISK: '/dev/sda',
  NOT_PASSED: 'x',
}

function tree(scripts: Record<string, string>): string {
  const root = chrootDir()
  busyboxTree(root)
  const dir = join(root, 'etc/imgswarm/post-install')
  mkdirSync(dir, { recursive: true })
  for (const [name, body] of Object.entries(scripts)) {
    writeFileSync(join(dir, name), `#!/bin/sh\n${body}\n`)
    chmodSync(join(dir, name), 0o755)
  }
  return root
}

async function failure(p: Promise<unknown>): Promise<PostInstallError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  )
  if (!isImgswarmError(e, 'IMGSWARM_ERR_POST_INSTALL')) throw new Error(`expected IMGSWARM_ERR_POST_INSTALL, got ${e}`)
  return e as PostInstallError
}

describe.skipIf(why !== '')('post-install scripts', () => {
  it('runs valid scripts in name order, chrooted, with the node variables and a clean PATH', async () => {
    const root = tree({
      '20-second': 'echo second >> /order; env | sort > /env.txt',
      '10-first': 'echo first >> /order; echo "to stdout"; echo "to stderr" >&2; [ -c /dev/null ] && echo devnull-ok',
      '99-last.sh': 'echo last >> /order; ls /proc/self > /dev/null && echo proc-ok',
    })
    const dir = join(root, 'etc/imgswarm/post-install')
    // Skipped: bad names, not executable, not regular.
    writeFileSync(join(dir, '5-short'), '#!/bin/sh\necho bad >> /order\n', { mode: 0o755 })
    writeFileSync(join(dir, '30-noexec'), '#!/bin/sh\necho bad >> /order\n', { mode: 0o644 })
    writeFileSync(join(dir, '40-spa ce'), '#!/bin/sh\necho bad >> /order\n', { mode: 0o755 })
    mkdirSync(join(dir, '50-dir'))
    symlinkSync('10-first', join(dir, '60-link'))
    const lines: string[] = []
    const warnings: string[] = []
    const r = await runPostInstall(root, {
      env: ENV,
      onOutput: (line, script) => lines.push(`${script}: ${line}`),
      onWarning: (m) => warnings.push(m),
    })
    expect(r.ran).toEqual(['10-first', '20-second', '99-last.sh'])
    expect(r.skipped).toEqual(['30-noexec', '40-spa ce', '5-short', '50-dir', '60-link'])
    expect(warnings).toHaveLength(5)
    expect(warnings.join('\n')).toMatch(/30-noexec: not executable/)
    expect(warnings.join('\n')).toMatch(/60-link: not a regular file/)
    // Wrote inside the tree: the chroot's / is the tree.
    expect(readFileSync(join(root, 'order'), 'utf8')).toBe('first\nsecond\nlast\n')
    expect(lines).toEqual(
      expect.arrayContaining([
        '10-first: to stdout',
        '10-first: to stderr',
        '10-first: devnull-ok',
        '99-last.sh: proc-ok',
      ]),
    )
    const env = readFileSync(join(root, 'env.txt'), 'utf8')
    for (const [k, v] of Object.entries(ENV)) {
      if (k.startsWith('IMGSWARM_')) expect(env).toContain(`${k}=${v}\n`)
    }
    expect(env).not.toContain('NOT_PASSED')
    expect(env).toContain('PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n')
    expect(env).not.toMatch(/node_modules/)
    expect(mountsUnder(root)).toEqual([])
  })

  it('stops at a failing script with its status and last output lines, and cleans up', async () => {
    const root = tree({
      '10-ok': 'echo ok >> /order',
      '20-fails': 'for i in $(seq 1 100); do echo "line $i"; done; exit 3',
      '30-never': 'echo never >> /order',
    })
    const e = await failure(runPostInstall(root, { env: ENV, keepLines: 5 }))
    expect(e.script).toBe('20-fails')
    expect(e.status).toBe(3)
    expect(e.timedOut).toBe(false)
    expect(e.output).toEqual(['line 96', 'line 97', 'line 98', 'line 99', 'line 100'])
    expect(e.message).toContain('20-fails failed (exit status 3)')
    expect(e.message).toContain('line 100')
    expect(e.exitCode).toBe(1)
    expect(readFileSync(join(root, 'order'), 'utf8')).toBe('ok\n')
    expect(mountsUnder(root)).toEqual([])
  })

  it('kills a script that runs past its time limit, with what it started', async () => {
    const root = tree({ '10-hangs': 'echo started; sleep 300 & sleep 300' })
    const e = await failure(runPostInstall(root, { env: ENV, timeoutMs: 300 }))
    expect(e.timedOut).toBe(true)
    expect(e.output).toEqual(['started'])
    expect(e.message).toMatch(/timed out/)
    expect(mountsUnder(root)).toEqual([])
  })

  it('does not wait for a daemon a finished script left running', async () => {
    const root = tree({ '10-daemon': 'sleep 300 & echo done' })
    const r = await runPostInstall(root, { env: ENV })
    expect(r.ran).toEqual(['10-daemon'])
    expect(mountsUnder(root)).toEqual([])
  })

  it('unmounts what a script mounted inside the chroot', async () => {
    const root = tree({ '10-mounts': 'mount -t tmpfs tmpfs /mnt && touch /mnt/x && echo mounted' })
    const lines: string[] = []
    await runPostInstall(root, { env: ENV, onOutput: (l) => lines.push(l) })
    expect(lines).toEqual(['mounted'])
    expect(mountsUnder(root)).toEqual([])
    expect(existsSync(join(root, 'mnt/x'))).toBe(false)
  })

  it('does nothing (and mounts nothing) when the image has no scripts', async () => {
    const root = chrootDir()
    busyboxTree(root)
    expect(await runPostInstall(root, { env: ENV })).toEqual({ ran: [], skipped: [] })
    expect(existsSync(join(root, 'dev/null'))).toBe(false)
  })

  it('refuses a script directory that is a symlink out of the tree, resolving it inside instead', async () => {
    const outside = chrootDir()
    mkdirSync(join(outside, 'scripts'))
    writeFileSync(join(outside, 'scripts/10-evil'), '#!/bin/sh\necho evil\n', { mode: 0o755 })
    const root = chrootDir()
    busyboxTree(root)
    mkdirSync(join(root, 'etc/imgswarm'))
    symlinkSync(join(outside, 'scripts'), join(root, 'etc/imgswarm/post-install'))
    // The link's target read inside the tree does not exist: no scripts, nothing outside runs.
    expect(await runPostInstall(root, { env: ENV })).toEqual({ ran: [], skipped: [] })
  })
})
