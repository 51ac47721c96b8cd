// Starts a real `serve` (tracker, seeder, web seed, API) on loopback ports
// over a temporary store with one packed image.
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { type Config, loadConfig } from '../../common/config.ts'
import { createLogger } from '../../common/log.ts'
import { freeLocalPort as freePort } from '../../common/net.ts'
import { packVersion, Store } from '../../seeder/index.ts'
import { createImageServer, type ImageServer } from '../../seeder/serve.ts'

export { freePort }

export async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256')
  for await (const c of createReadStream(file)) h.update(c as Buffer)
  return h.digest('hex')
}

/** A tree of `mb` MiB of pseudo-random data in a few files, imported and packed as img@1. */
export async function packedStore(dir: string, mb = 24): Promise<{ store: Store; manifestSha: string; file: string }> {
  const tree = join(dir, 'tree')
  await mkdir(join(tree, 'etc'), { recursive: true })
  await writeFile(join(tree, 'etc/hostname'), 'golden\n')
  let seed = createHash('sha256').update('imgswarm').digest()
  for (let f = 0; f < 3; f++) {
    const parts: Buffer[] = []
    for (let i = 0; i < (mb * 1024) / 3 / 32; i++) {
      seed = createHash('sha256').update(seed).digest()
      parts.push(Buffer.alloc(32 * 1024, seed))
    }
    await writeFile(join(tree, `blob${f}`), Buffer.concat(parts))
  }
  const store = new Store(join(dir, 'store'))
  await store.import('image', tree, 'img@1')
  const res = await packVersion(store, 'image', 'img@1', {
    compression: 'none',
    pieceLength: 256 * 1024,
    announce: ['http://127.0.0.1:1/announce'],
    webseeds: ['http://127.0.0.1:1/webseed/'],
  })
  await writeFile(join(store.root, 'plans.toml'), '[defaults]\nimage = "img"\npost = "none"\n')
  return { store, manifestSha: res.info.manifest.archive.sha256, file: res.info.manifest.archive.file }
}

export interface Running {
  server: ImageServer
  url: string
  config: Config['serve']
  stop(): Promise<void>
}

export async function startServe(store: Store, extra: Partial<Config['serve']> = {}): Promise<Running> {
  const port = await freePort()
  const base = loadConfig({ config: 'none', store: store.root }, {})
  const config = {
    ...base.serve,
    host: '127.0.0.1',
    port,
    publicUrl: `http://127.0.0.1:${port}`,
    torrentPort: 0,
    ...extra,
  }
  const server = await createImageServer({
    store,
    serve: config,
    pack: { compression: 'none' },
    logger: createLogger('test', process.env.IMGSWARM_TEST_LOG ?? 'silent'),
  })
  await server.start()
  return { server, url: config.publicUrl, config, stop: () => server.stop() }
}
