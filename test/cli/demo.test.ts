// `imgswarm demo`: a real fleet reimage (root: network namespaces, shaped
// links, real serve and install processes), the loopback fallback run as a
// real non-root user (setpriv to nobody), cleanup after Ctrl-C, and the live
// view's layout rules.
import { execFileSync, spawn } from 'node:child_process'
import { chmod, mkdir, readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { DemoSummary } from '../../cli/demo/index.ts'
import { renderBlock } from '../../cli/demo/render.ts'
import { newFleetState, setStep } from '../../cli/demo/state.ts'
import { summarize } from '../../cli/demo/summary.ts'
import { checkNode } from '../../cli/demo/verify.ts'
import { BIN } from '../support/cli.ts'
import { isRoot, tempDir } from '../support/tmp.ts'

interface Run {
  status: number | null
  stdout: string
  stderr: string
}

/** The CLI as a child process (async: the test's event loop stays free). */
function demo(
  args: string[],
  o: { prefix?: string[]; env?: NodeJS.ProcessEnv; onStderr?: (all: string) => void } = {},
) {
  const [cmd, ...pre] = [...(o.prefix ?? []), BIN]
  const child = spawn(cmd as string, [...pre, 'demo', ...args], {
    env: { ...process.env, IMGSWARM_FROM_SOURCE: '1', IMGSWARM_CONFIG: 'none', HOME: '/tmp', ...o.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (c: Buffer) => {
    stdout += c.toString()
  })
  child.stderr.on('data', (c: Buffer) => {
    stderr += c.toString()
    o.onStderr?.(stderr)
  })
  const result = new Promise<Run>((resolve) => child.on('close', (status) => resolve({ status, stdout, stderr })))
  return { child, result }
}

/** Network namespaces the fleet harness made for process `pid` (named isw<pid>-...). */
function netnsOf(pid: number | undefined): string[] {
  return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .filter((l) => l.startsWith(`isw${pid}-`))
}

function loopsOf(dir: string): string {
  return execFileSync('losetup', ['-a'], { encoding: 'utf8' })
    .split('\n')
    .filter((l) => l.includes(dir))
    .join('\n')
}

describe.runIf(isRoot)('imgswarm demo (root)', () => {
  it('reimages 3 nodes of a simulated fleet, checks each, and leaves nothing behind', async () => {
    const work = await tempDir()
    const d = demo(['--nodes', '3', '--sample-mb', '8', '--server-rate', '10', '--work-dir', work, '--json'])
    const r = await d.result
    expect(r.status, r.stderr).toBe(0)
    const s = JSON.parse(r.stdout) as DemoSummary
    // The fleet ran for real here (this machine has ip and tc), not the fallback.
    expect(s.mode, r.stderr).toBe('fleet')
    expect(s.nodes).toBe(3)
    expect(s.verified).toBe(3)
    expect(s.failed).toEqual([])
    expect(s.wallSeconds).toBeGreaterThan(0)
    expect(s.peerBytes).toBeGreaterThan(0)
    expect(s.nodesDownloaded).toBeGreaterThanOrEqual(3 * s.imageBytes)
    expect(s.serverBytes + s.peerBytes).toBe(s.nodesDownloaded)
    expect(s.unicastSeconds).toBeCloseTo((3 * s.imageBytes) / (10e6 / 8), 6)
    expect(r.stderr).toContain('/api/v1/events')
    // As root the sample carries a post-install script, run in a chroot on every node.
    expect(s.checked).toContain('post-install script ran')
    expect(await readdir(work)).toEqual([])
    expect(netnsOf(d.child.pid)).toEqual([])
  })

  it('--disks installs onto loop-device disks and detaches them', async () => {
    const work = await tempDir()
    const r = await demo(['--nodes', '2', '--disks', '--sample-mb', '8', '--work-dir', work, '--json']).result
    expect(r.status, r.stderr).toBe(0)
    const s = JSON.parse(r.stdout) as DemoSummary
    expect(s.verified).toBe(2)
    expect(loopsOf(work)).toBe('')
    expect(await readdir(work)).toEqual([])
  })

  it('Ctrl-C in the middle stops everything and removes the fleet and the work directory', async () => {
    const work = await tempDir()
    let sent = false
    let during: string[] = []
    const d = demo(['--nodes', '3', '--sample-mb', '16', '--server-rate', '5', '--work-dir', work], {
      onStderr: (all) => {
        if (!sent && /reimaging 3 node/.test(all)) {
          sent = true
          during = netnsOf(d.child.pid)
          d.child.kill('SIGINT')
        }
      },
    })
    const r = await d.result
    expect(sent, r.stderr).toBe(true)
    expect(r.status, r.stderr).toBe(130)
    expect(r.stderr).toContain('cleaned up')
    expect(await readdir(work)).toEqual([])
    // The fleet existed when Ctrl-C came (server, switch and 3 nodes), and is gone.
    expect(during).toHaveLength(5)
    expect(netnsOf(d.child.pid)).toEqual([])
  })
})

describe.runIf(isRoot)('imgswarm demo without root', () => {
  // A real non-root run: setpriv drops to nobody (uid 65534) before the CLI starts.
  it('says what it needs and runs the loopback version', async () => {
    const work = await tempDir()
    await chmod(work, 0o777)
    const r = await demo(['--sample-mb', '8', '--work-dir', work, '--json'], {
      prefix: ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'],
    }).result
    expect(r.status, r.stderr).toBe(0)
    expect(r.stderr).toContain('not running as root')
    expect(r.stderr).toContain('loopback version')
    const s = JSON.parse(r.stdout) as DemoSummary
    expect(s.mode).toBe('loopback')
    expect(s.nodes).toBe(4)
    expect(s.verified).toBe(4)
    expect(s.failed).toEqual([])
    expect(s.boundSeconds).toBeNull()
    expect(s.checked).not.toContain('post-install')
    expect(await readdir(work)).toEqual([])
  })
})

describe('the live view', () => {
  const state = (n: number) => {
    const s = newFleetState(
      Array.from({ length: n }, (_, i) => `node${String(i + 1).padStart(2, '0')}`),
      64e6,
      0,
    )
    s.nodes.forEach((x, i) => {
      x.percent = (i * 7) % 100
    })
    if (s.nodes[0]) setStep(s.nodes[0], 'seed', 12_000, 0)
    return s
  }

  it('fits any terminal: a line per node when they fit, else a grid, never wider or taller', () => {
    for (const n of [1, 3, 16, 48, 64]) {
      for (const [cols, rows] of [
        [80, 24],
        [120, 50],
        [40, 10],
        [200, 8],
      ] as const) {
        const lines = renderBlock(state(n), 30_000, cols, rows)
        expect(lines.length).toBeLessThanOrEqual(rows - 1)
        for (const l of lines) expect([...l].length).toBeLessThan(cols)
      }
    }
    expect(renderBlock(state(16), 0, 100, 40)).toHaveLength(17)
    const grid = renderBlock(state(48), 0, 100, 20)
    expect(grid.length).toBeLessThan(48)
    expect(grid.join('\n')).toContain('✓')
  })

  it('the summary computes unicast time and the bound from the rates', () => {
    const s = summarize({
      mode: 'fleet',
      nodes: 16,
      imageBytes: 64e6,
      installedAt: Array.from({ length: 16 }, (_, i) => 20 + i),
      serverRate: 50e6 / 8,
      nodeRate: 100e6 / 8,
      seederUploaded: 70e6,
      checks: [],
      checked: '',
    })
    expect(s.unicastSeconds).toBeCloseTo((16 * 64e6) / (50e6 / 8), 6)
    // max(F/u_s, F/d, N·F/(u_s + N·u)) = F/u_s here.
    expect(s.boundSeconds).toBeCloseTo(64e6 / (50e6 / 8), 6)
    expect(s.wallSeconds).toBe(35)
    expect(s.firstSeconds).toBe(20)
  })
})

describe('the node check', () => {
  it('fails a node whose files differ from the image, or that exited non-zero', async () => {
    const dir = await tempDir()
    const tree = join(dir, 'tree')
    const target = join(dir, 'target')
    for (const root of [tree, target]) {
      await mkdir(join(root, 'etc'), { recursive: true })
      await writeFile(join(root, 'data.bin'), 'the same bytes')
      await writeFile(join(root, 'etc/motd'), 'site motd\n')
    }
    await writeFile(join(target, 'etc/hostname'), 'node01\n')
    const sample = { files: 2, bytes: 0, checks: ['data.bin'], motd: 'site motd\n', postMark: undefined }
    const summary = JSON.stringify({ inPlace: true, seconds: 1, image_stats: { bytesDown: 1 } })
    const check = (exit: number, stdout = summary) =>
      checkNode({
        name: 'node01',
        exit: { code: exit, signal: null },
        stdout,
        tail: ['[failed] during download: boom'],
        tree,
        sample,
        withRoot: (fn) => fn(target),
      })
    expect((await check(0)).problems).toEqual([])
    expect((await check(1)).problems).toEqual(['exit 1: [failed] during download: boom'])
    expect((await check(0, '')).problems).toEqual(['no JSON summary'])
    await writeFile(join(target, 'data.bin'), 'other bytes')
    await writeFile(join(target, 'etc/hostname'), 'golden\n')
    expect((await check(0)).problems).toEqual(['data.bin differs from the image', 'etc/hostname is not the node name'])
  })
})
