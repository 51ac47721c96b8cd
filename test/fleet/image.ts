// The image side of the fleet test: a store with a small packed image, a
// real `imgswarm serve` inside the server host, and HTTP calls made from
// inside a host (the fleet's addresses exist only in its namespaces).
import type { ChildProcess } from 'node:child_process'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Host } from '../../fleetsim/index.ts'
import { packVersion, Store } from '../../seeder/index.ts'
import { imageTree } from '../install/harness.ts'
import { BIN } from '../support/cli.ts'

export const PORT = 8470
export const ENV = { IMGSWARM_FROM_SOURCE: '1', IMGSWARM_CONFIG: 'none' }

/** base@1, uncompressed (installed in place), and one [[node]] per host name. */
export async function packedImage(dir: string, dataMb: number, hostnames: string[]): Promise<Store> {
  const store = new Store(join(dir, 'store'))
  await imageTree(join(dir, 'tree'), dataMb)
  await store.import('image', join(dir, 'tree'), 'base@1')
  await packVersion(store, 'image', 'base@1', {
    compression: 'none',
    pieceLength: 256 * 1024,
    announce: ['http://127.0.0.1:1/announce'],
    webseeds: ['http://127.0.0.1:1/webseed/'],
  })
  const nodes = hostnames.map((h) => `[[node]]\nhostname = "${h}"\n`).join('')
  await writeFile(join(store.root, 'plans.toml'), `[defaults]\nimage = "base"\npost = "none"\n${nodes}`)
  return store
}

const FETCH = `
const [url, token] = process.argv.slice(1)
const headers = token ? { authorization: 'Bearer ' + token } : {}
fetch(url, { headers, signal: AbortSignal.timeout(10000) })
  .then(async (r) => { process.stdout.write(await r.text()); process.exit(r.status === 200 ? 0 : 1) })
  .catch((e) => { process.stderr.write(String(e)); process.exit(1) })
`

/** GET from inside a host; the body, or undefined when it is not 200. */
export async function getIn(host: Host, url: string, token?: string): Promise<string | undefined> {
  const r = await host.exec(process.execPath, ['-e', FETCH, url, token ?? ''], { timeoutMs: 20_000 })
  return r.code === 0 ? r.stdout : undefined
}

export interface Serve {
  url: string
  child: ChildProcess
  log: () => string
  token: () => Promise<string>
}

/** `imgswarm serve` in the server host; resolves when a node host gets an answer from it. */
export async function serveIn(server: Host, probeFrom: Host, store: Store): Promise<Serve> {
  const url = `http://${server.ip}:${PORT}`
  const args = ['serve', '--store', store.root, '--host', '0.0.0.0', '--port', String(PORT), '--public-url', url]
  const child = server.spawn(BIN, [...args, '--torrent-port', '8472', '--log-level', 'warn'], {
    env: ENV,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let log = ''
  child.stdout?.on('data', (c: Buffer) => {
    log += c.toString()
  })
  child.stderr?.on('data', (c: Buffer) => {
    log += c.toString()
  })
  for (let i = 0; i < 120; i++) {
    if (child.exitCode !== null) throw new Error(`serve exited ${child.exitCode}:\n${log}`)
    if ((await getIn(probeFrom, `${url}/api/v1/health/ready`)) !== undefined) break
    if (i === 119) throw new Error(`serve never became ready:\n${log}`)
    await sleep(250)
  }
  const token = async () => (await readFile(join(store.root, 'keys', 'admin.token'), 'utf8')).trim()
  return { url, child, log: () => log, token }
}

/** Bytes a host has sent on its link (the kernel's count, headers included). */
export async function txBytes(host: Host): Promise<number> {
  const r = await host.exec('ip', ['-j', '-s', 'link', 'show', 'eth0'])
  const [link] = JSON.parse(r.stdout) as { stats64: { tx: { bytes: number } } }[]
  return link?.stats64.tx.bytes ?? 0
}
