// Runs ip and tc, feeding whole batches on stdin: one process sets up many
// objects, which is what makes a 48-node fleet quick to build.
import { spawn, spawnSync } from 'node:child_process'
import { accessSync, constants } from 'node:fs'
import { delimiter, join } from 'node:path'
import { errors } from '../common/errors.ts'

const found = new Map<string, string | undefined>()

/** The absolute path of a tool on PATH (or in /usr/sbin, /sbin, where Debian puts ip and tc), or undefined. */
export function which(tool: string): string | undefined {
  if (found.has(tool)) return found.get(tool)
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), '/usr/sbin', '/sbin']
  let path: string | undefined
  for (const d of dirs) {
    try {
      accessSync(join(d, tool), constants.X_OK)
      path = join(d, tool)
      break
    } catch {
      // not here
    }
  }
  found.set(tool, path)
  return path
}

/** The path to run a tool by (its bare name when not found: the spawn error then says so). */
export function toolPath(tool: string): string {
  return which(tool) ?? tool
}

export interface Ran {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs cmd to completion; on timeout it is killed (code null). Never rejects for a non-zero exit. */
export function run(
  cmd: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {},
): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString()
    })
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString()
    })
    const timer =
      opts.timeoutMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs).unref()
    child.once('error', (e) => {
      clearTimeout(timer)
      reject(e)
    })
    child.once('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
    // A command that does not read stdin may close it first: not an error.
    child.stdin.on('error', () => {})
    child.stdin.end(opts.input ?? '')
  })
}

/** Runs `tool -batch -` (optionally in a namespace) and throws an ImgswarmError on failure. */
export async function batch(
  tool: 'ip' | 'tc',
  lines: string[],
  o: { netns?: string; force?: boolean } = {},
): Promise<void> {
  if (lines.length === 0) return
  const { netns } = o
  const args = [...(netns === undefined ? [] : ['-n', netns]), ...(o.force ? ['-force'] : []), '-batch', '-']
  let r: Ran
  try {
    r = await run(toolPath(tool), args, { input: `${lines.join('\n')}\n`, timeoutMs: 60_000 })
  } catch (e) {
    throw errors.tool(tool, (e as Error).message, 'iproute2')
  }
  if (r.code !== 0) {
    const where = netns === undefined ? '' : ` in ${netns}`
    throw errors.tool(`${tool} -batch${where}`, r.stderr.trim() || `exit ${r.code}`, 'iproute2')
  }
}

/** The same, synchronous and best effort: for process exit, where nothing async runs. */
export function batchSync(tool: 'ip' | 'tc', lines: string[]): void {
  if (lines.length === 0) return
  spawnSync(toolPath(tool), ['-force', '-batch', '-'], {
    input: `${lines.join('\n')}\n`,
    stdio: ['pipe', 'ignore', 'ignore'],
  })
}

/** Runs async jobs with at most `width` at once (the machine has two cores). */
export async function pool<T>(items: T[], width: number, job: (item: T) => Promise<void>): Promise<void> {
  let next = 0
  const worker = async () => {
    while (next < items.length) await job(items[next++] as T)
  }
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker))
}
