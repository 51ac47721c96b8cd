// Test-only stand-in server for the QEMU PXE boot test while the fleet
// database is not in this checkout: the real boot routes (registerBootRoutes)
// on their own, with the per-MAC decision read from a file of MACs to
// reimage (one a line). Run inside the server host:
//   node test/pxe/boot-server.ts STORE_ROOT PUBLIC_URL REIMAGE_FILE
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import Fastify from 'fastify'
import { registerBootRoutes } from '../../seeder/boot/index.ts'

const [root, publicUrl, reimageFile] = process.argv.slice(2) as [string, string, string]
const app = Fastify({ logger: { level: 'info' } })
registerBootRoutes(app, {
  dir: join(root, 'boot'),
  keysDir: join(root, 'keys'),
  publicUrl,
  fleet: () => ({
    bootAction: (mac) => (readFileSync(reimageFile, 'utf8').split('\n').includes(mac) ? 'reimage' : 'local'),
  }),
  logger: app.log as never,
})
const u = new URL(publicUrl)
await app.listen({ host: u.hostname, port: Number(u.port) })
process.stdout.write('boot server listening\n')
