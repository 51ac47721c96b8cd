// `imgswarm status` against a real serve that real node events were posted
// to: the JSON list, the table and its totals, the filters, where the token
// comes from, clear errors, and --watch following the stream.
import { spawn } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freePort, packedStore, type Running, startServe } from '../serve/harness.ts'
import { BIN, cliAsync } from '../support/cli.ts'
import { tempDir } from '../support/tmp.ts'

interface Row {
  id: string
  state: string
  percent: number | null
  rateDown: number
  peers: number
  code: string | null
}

let running: Running
let watcher: ReturnType<typeof spawn> | undefined
let storeRoot: string
let token: string

async function post(body: Record<string, unknown>): Promise<void> {
  const r = await fetch(`${running.url}/api/v1/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  if (r.status >= 300) throw new Error(`POST events ${r.status}: ${await r.text()}`)
}

beforeAll(async () => {
  // Not tempDir(): that one is cleaned after each test, and this serve lives for the file.
  const { mkdtemp } = await import('node:fs/promises')
  const { tmpdir } = await import('node:os')
  const dir = await mkdtemp(join(tmpdir(), 'imgswarm-status-'))
  const { store } = await packedStore(dir, 2)
  storeRoot = store.root
  running = await startServe(store)
  token = (await readFile(join(store.root, 'keys', 'admin.token'), 'utf8')).trim()
  for (const n of ['st-a', 'st-b', 'st-c']) await post({ node: n, step: 'config', message: 'plan received' })
  await post({ node: 'st-a', step: 'download', percent: 40, bytesDown: 4e6, rateDown: 2.5e6, rateUp: 1e6, peers: 3 })
  await post({ node: 'st-c', step: 'failed', code: 'IMGSWARM_ERR_DISK_TOO_SMALL', message: 'disk too small' })
})

afterAll(async () => {
  // An open stream would keep the server from closing.
  watcher?.kill('SIGKILL')
  await running?.stop()
  const { rm } = await import('node:fs/promises')
  if (storeRoot) await rm(join(storeRoot, '..'), { recursive: true, force: true })
})

const env = () => ({ IMGSWARM_TOKEN: token })

/** The CLI without blocking this process, which runs the server (never spawnSync here). */
const cli = cliAsync

describe('imgswarm status', () => {
  it('--json lists the nodes with their state and progress, and --state filters them', async () => {
    const r = await cli(['status', '--server', running.url, '--json'], env())
    expect(r.status, r.stderr).toBe(0)
    const { nodes } = JSON.parse(r.stdout) as { nodes: Row[] }
    const byId = new Map(nodes.map((n) => [n.id, n]))
    expect([...byId.keys()].sort()).toEqual(['st-a', 'st-b', 'st-c'])
    expect(byId.get('st-a')).toMatchObject({ state: 'installing', percent: 40, rateDown: 2.5e6, peers: 3 })
    expect(byId.get('st-c')).toMatchObject({ state: 'failed', code: 'IMGSWARM_ERR_DISK_TOO_SMALL' })
    const failed = await cli(['status', '--server', running.url, '--json', '--state', 'failed'], env())
    expect((JSON.parse(failed.stdout) as { nodes: Row[] }).nodes.map((n) => n.id)).toEqual(['st-c'])
    const bad = await cli(['status', '--server', running.url, '--state', 'sleeping'], env())
    expect(bad.status).not.toBe(0)
    expect(bad.stderr).toMatch(/Allowed choices are discovered, idle/)
  })

  it('prints a table with a progress bar, rates, peers and a totals line', async () => {
    const r = await cli(['status', '--server', running.url, '--token', token], { COLUMNS: '120' })
    expect(r.status, r.stderr).toBe(0)
    const lines = r.stdout.trimEnd().split('\n')
    expect(lines[0]).toMatch(/^NODE\s+STATE\s+PROGRESS\s+DOWN\s+UP\s+PEERS\s+ETA/)
    const a = lines.find((l) => l.startsWith('st-a')) as string
    expect(a).toMatch(/installing/)
    // Not a terminal: the bar is ASCII, 40% filled.
    const bar = /([#.]{8,})\s+40%/.exec(a)?.[1] as string
    expect(bar).toBeDefined()
    expect(bar.split('#').length - 1).toBe(Math.round(bar.length * 0.4))
    expect(a).toMatch(/2\.5 MB\/s\s+1\.0 MB\/s\s+3\b/)
    expect(lines.find((l) => l.startsWith('st-c'))).toMatch(/failed/)
    expect(lines.at(-1)).toMatch(/^3 nodes: 2 installing, 1 failed.* · down 2\.5 MB\/s · up 1\.0 MB\/s · from server/)
    expect(r.stdout).not.toContain('\x1b[')
  })

  it('reads the token from STORE/keys/admin.token when run on the server', async () => {
    const r = await cli(['status', '--server', running.url, '--json', '--store', storeRoot], { IMGSWARM_TOKEN: '' })
    expect(r.status, r.stderr).toBe(0)
    expect((JSON.parse(r.stdout) as { nodes: Row[] }).nodes.length).toBe(3)
  })

  it('says clearly when the token is refused or missing, and when the server is unreachable', async () => {
    const wrong = await cli(['status', '--server', running.url, '--token', 'x'.repeat(43)])
    expect(wrong.status).toBe(1)
    expect(wrong.stderr).toMatch(/IMGSWARM_ERR_STATUS_SERVER: .*the server refused the admin token/)
    expect(wrong.stderr).toMatch(/what to do: pass --token/)
    const dir = await tempDir()
    const none = await cli(['status', '--server', running.url, '--store', dir], { IMGSWARM_TOKEN: '' })
    expect(none.status).toBe(1)
    expect(none.stderr).toMatch(/wants the admin token and none was found/)
    const port = await freePort()
    const down = await cli(['status', '--server', `http://127.0.0.1:${port}`], env())
    expect(down.status).toBe(1)
    expect(down.stderr).toMatch(/unreachable: ECONNREFUSED/)
    expect(down.stderr).toMatch(/that imgswarm serve runs there/)
  })

  it('--watch on a terminal draws in place on the alternate screen, follows the stream, and restores the screen on Ctrl-C', async () => {
    // A real pseudo-terminal: util-linux script(1) runs the command on one, 100x30.
    const cmd = `stty cols 100 rows 30; exec ${BIN} status --server ${running.url} --watch`
    const child = spawn('script', ['-qfec', cmd, '/dev/null'], {
      env: { ...process.env, IMGSWARM_FROM_SOURCE: '1', IMGSWARM_CONFIG: 'none', ...env() },
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    watcher = child
    let out = ''
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString()
    })
    const exit = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)))
    // Rows are matched without their colours.
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the terminal's escape sequences
    const plain = () => out.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '')
    const seen = async (what: string | RegExp) => {
      await expect.poll(typeof what === 'string' ? () => out : plain, { timeout: 60_000, interval: 100 }).toMatch(what)
    }
    try {
      await seen('\x1b[?1049h')
      await seen(/st-a +installing .*40%/)
      await seen(/3 nodes: /)
      await post({ node: 'st-tty', step: 'download', percent: 33, rateDown: 1e6, peers: 2 })
      await seen(/st-tty +installing .*33%/)
      // Redrawn in place (cursor home, each line cleared to its end), not scrolled.
      expect(out).toContain('\x1b[H')
      expect(out).toContain('\x1b[K')
    } finally {
      child.stdin.write('\x03') // Ctrl-C, through the terminal's line discipline: SIGINT
    }
    expect(await exit).toBe(0)
    expect(out.slice(out.lastIndexOf('\x1b[?1049h'))).toContain('\x1b[?25h\x1b[?1049l')
  })

  it('--watch --json follows the stream: a new event shows up, and Ctrl-C ends it cleanly', async () => {
    const child = spawn(BIN, ['status', '--server', running.url, '--watch', '--json'], {
      env: { ...process.env, IMGSWARM_FROM_SOURCE: '1', IMGSWARM_CONFIG: 'none', ...env() },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    watcher = child
    let out = ''
    let err = ''
    child.stderr.on('data', (c: Buffer) => {
      err += c.toString()
    })
    const waiters: (() => void)[] = []
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString()
      for (const w of [...waiters]) w()
    })
    const seen = (re: RegExp) =>
      new Promise<void>((resolve, reject) => {
        const check = () => {
          if (!re.test(out)) return
          waiters.splice(waiters.indexOf(check), 1)
          resolve()
        }
        waiters.push(check)
        child.once('close', () => reject(new Error(`status --watch ended early: ${err}\n${out}`)))
        check()
      })
    const exit = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)))
    try {
      await seen(/"id":"st-a"/)
      await seen(/"event":"fleet"/)
      // The snapshot is out and the stream is connected (the server's first event): a new node appears through it.
      await post({ node: 'st-new', step: 'download', percent: 12, rateDown: 1e6, peers: 1 })
      await seen(/"event":"node","data":\{[^\n]*"id":"st-new"[^\n]*"percent":12/)
      for (const line of out.trim().split('\n')) expect(() => JSON.parse(line)).not.toThrow()
    } finally {
      child.kill('SIGINT')
    }
    expect(await exit).toBe(0)
    expect(err).toBe('')
  })
})
