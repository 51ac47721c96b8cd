// A real `serve` with TLS on (serve.tls = "auto" unless told otherwise) on
// loopback ports, over a store with a packed image and overrides.
import { join } from 'node:path'
import type { Config } from '../../common/config.ts'
import { loadConfig } from '../../common/config.ts'
import { createLogger } from '../../common/log.ts'
import type { Store } from '../../seeder/index.ts'
import { createImageServer } from '../../seeder/serve.ts'
import { freePort, type Running } from '../serve/harness.ts'

export async function startTlsServe(
  store: Store,
  extra: Partial<Config['serve']> = {},
  scheme: 'https' | 'http' = 'https',
): Promise<Running & { ca: string }> {
  const port = await freePort()
  const base = loadConfig({ config: 'none', store: store.root }, {})
  const config: Config['serve'] = {
    ...base.serve,
    host: '127.0.0.1',
    port,
    publicUrl: `${scheme}://127.0.0.1:${port}`,
    torrentPort: 0,
    ...(scheme === 'https' ? { tls: { mode: 'auto' as const, sans: ['localhost'] } } : {}),
    ...extra,
  }
  const server = await createImageServer({
    store,
    serve: config,
    pack: { compression: 'none' },
    logger: createLogger('test', process.env.IMGSWARM_TEST_LOG ?? 'silent'),
  })
  await server.start()
  return { server, url: config.publicUrl, config, stop: () => server.stop(), ca: join(store.keysDir, 'ca.pem') }
}
