// Prints the API's OpenAPI 3.1 document, built from the route schemas
// themselves (no network, no store needed):
//   node scripts/openapi.ts > docs/openapi.json && npx biome format --write docs/openapi.json
import { join } from 'node:path'
import { API_VERSION, configPlanSource, createApi, memoryEventSink, openApiDocument } from '../seeder/api/index.ts'
import { openFleet } from '../seeder/fleet/index.ts'
import { Store } from '../seeder/index.ts'

export async function buildOpenApiJson(): Promise<string> {
  // An in-memory fleet database, so that the fleet routes are registered and documented.
  const fleet = openFleet({ file: ':memory:' })
  const app = await createApi({
    store: new Store(join('/nonexistent', 'imgswarm-store')),
    adminToken: 'x'.repeat(32),
    plans: configPlanSource({
      file: 'plans.toml',
      defaults: { image: undefined, overrides: [], post: 'reboot' },
      nodes: [],
    }),
    events: memoryEventSink(),
    publicUrl: 'http://imgswarm.example:8470',
    tracker: { handleHttp: () => false },
    seeder: { ready: () => true, status: () => ({}) },
    pack: async () => undefined,
    fleet,
  })
  await app.ready()
  const doc = openApiDocument(app, { version: API_VERSION })
  await app.close()
  await fleet.stop()
  return `${JSON.stringify(doc, null, 2)}\n`
}

if (import.meta.main) process.stdout.write(await buildOpenApiJson())
