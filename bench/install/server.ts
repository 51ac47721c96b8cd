// The image server side of the install benchmark: a store with the generated
// tree imported and packed uncompressed (through the CLI, untimed), and a real
// `imgswarm serve` in its own process, so that the client and the server never
// share an event loop.

import { type ChildProcess, spawn } from 'node:child_process'
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { errors } from '../../common/errors.ts'
import { freeLocalPort as freePort } from '../../common/net.ts'
import { run } from '../pack/proc.ts'

export const IMAGE = 'benchimg'
export const HOSTNAME = 'bench'
/** The install rewrites files in here (host name, machine-id, ...): the checks skip it. */
export const SYSTEM_DIR = 'etc'
/** Nothing listens there: serve hands out torrents with its own tracker and web seed. */
const ANNOUNCE = 'http://127.0.0.1:1/announce'

export interface Artifact {
  name: string
  version: string
  webseed: string
  size: number
  sha256: string
  compression: string
  index: string | null
}

export interface Server {
  url: string
  pubkey: string
  /** The packed archive on disk (read once before each side so both find it in the page cache). */
  archive: string
  image: Artifact
  /** The imported tree the archive was packed from: what a correct install reproduces. */
  tree: string
  /** CPU seconds (user + system) the server process has used so far. */
  cpuSeconds(): number
  stop(): Promise<void>
}

/** USER_HZ: the unit of /proc/PID/stat times, 100 on every Linux architecture we run on. */
const USER_HZ = 100

function cpuOf(pid: number | undefined): number {
  if (pid === undefined) return 0
  try {
    // Fields after the parenthesised command name: utime and stime are the 12th and 13th.
    const rest = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ').pop()?.split(' ') ?? []
    return (Number(rest[11]) + Number(rest[12])) / USER_HZ
  } catch {
    return 0
  }
}

/** Imports and packs `tree` into `store` unless the stamp says it already holds this spec. */
export async function prepareStore(
  bin: string,
  env: NodeJS.ProcessEnv,
  store: string,
  tree: string,
  spec: string,
  log: (l: string) => void,
): Promise<void> {
  const stamp = join(store, 'bench.stamp')
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === spec) {
    log('store: reusing the packed image')
    return
  }
  rmSync(store, { recursive: true, force: true })
  systemFiles(tree)
  const common = ['--store', store, '--config', 'none']
  log('store: importing the tree (untimed)')
  await run(bin, ['image', 'import', tree, IMAGE, ...common], { env, inheritStderr: true })
  log('store: packing it uncompressed (untimed)')
  await run(bin, ['image', 'pack', IMAGE, ...common, '--announce', ANNOUNCE, '--compress', 'none'], { env })
  writeFileSync(
    join(store, 'plans.toml'),
    `[defaults]\nimage = "${IMAGE}"\npost = "none"\n\n[[node]]\nhostname = "${HOSTNAME}"\n`,
  )
  writeFileSync(stamp, spec)
}

/** What the install's identity step needs in any image: an etc/ with the files it rewrites. */
function systemFiles(tree: string): void {
  mkdirSync(join(tree, SYSTEM_DIR), { recursive: true })
  writeFileSync(join(tree, SYSTEM_DIR, 'hostname'), 'golden\n')
  writeFileSync(join(tree, SYSTEM_DIR, 'hosts'), '127.0.0.1\tlocalhost\n127.0.1.1\tgolden\n')
  writeFileSync(join(tree, SYSTEM_DIR, 'machine-id'), '0123456789abcdef0123456789abcdef\n')
}

export function storedTree(store: string): string {
  const dir = join(store, 'images', IMAGE)
  const versions = readdirSync(dir)
  if (versions.length !== 1) throw errors.tool('bench', `expected one version under ${dir}, found ${versions.length}`)
  return join(dir, versions[0] as string)
}

function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve()
    const t = setTimeout(() => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL')
      } catch {}
    }, 10_000)
    child.once('close', () => {
      clearTimeout(t)
      resolve()
    })
    try {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGTERM')
    } catch {
      clearTimeout(t)
      resolve()
    }
  })
}

/** Starts `imgswarm serve` on loopback and waits until it says it is ready; `stop` is idempotent. */
export async function startServer(
  bin: string,
  env: NodeJS.ProcessEnv,
  store: string,
  logFile: string,
  uploadLimit: number,
): Promise<Server> {
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  let config = 'none'
  if (uploadLimit > 0) {
    config = join(store, 'bench-serve.toml')
    writeFileSync(config, `[serve]\nupload_limit = ${uploadLimit}\n`)
  }
  const args = ['serve', '--store', store, '--config', config, '--host', '127.0.0.1', '--port', String(port)]
  args.push('--public-url', url, '--torrent-port', '0', '--no-udp', '--log-level', 'warn')
  const fd = openSync(logFile, 'w')
  const child = spawn(bin, args, { detached: true, stdio: ['ignore', fd, fd], env })
  closeSync(fd)
  let exited = false
  child.once('close', () => {
    exited = true
  })
  const stop = () => stopChild(child)
  try {
    const deadline = Date.now() + 180_000
    for (;;) {
      if (exited) throw errors.tool('imgswarm serve', `exited at start; see ${logFile}`)
      if (Date.now() > deadline) throw errors.tool('imgswarm serve', `not ready after 180 s; see ${logFile}`)
      const ok = await fetch(`${url}/api/v1/health/ready`).then(
        (r) => r.ok,
        () => false,
      )
      if (ok) break
      await new Promise((r) => setTimeout(r, 250))
    }
    const res = await fetch(`${url}/api/v1/plan?hostname=${HOSTNAME}`)
    if (!res.ok) throw errors.tool('GET /api/v1/plan', `HTTP ${res.status}: ${await res.text()}`)
    const plan = (await res.json()) as { image: Artifact }
    const image = plan.image
    if (image.compression !== 'none' || image.index === null) {
      throw errors.tool('bench', `the plan's image is ${image.compression} without an index: not installable in place`)
    }
    return {
      url,
      pubkey: join(store, 'keys', 'manifest-signing.pub'),
      archive: join(store, 'packed', 'images', `${image.name}@${image.version}.tar`),
      image,
      tree: storedTree(store),
      cpuSeconds: () => cpuOf(child.pid),
      stop,
    }
  } catch (e) {
    await stop()
    throw e
  }
}
