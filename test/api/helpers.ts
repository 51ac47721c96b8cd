// A temp store with packed images and overrides, a plans file and an API on it.
import { randomBytes } from 'node:crypto'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { afterEach } from 'vitest'
import {
  type ApiInit,
  createApi,
  type EventSink,
  filePlanSource,
  loadOrCreateAdminToken,
  memoryEventSink,
  type PlanSource,
} from '../../seeder/api/index.ts'
import { type Kind, packVersion, Store } from '../../seeder/index.ts'
import { tempDir } from '../support/tmp.ts'

export const PUBLIC_URL = 'http://10.9.8.7:8470'

const apps: FastifyInstance[] = []
afterEach(async () => {
  while (apps.length > 0) await (apps.pop() as FastifyInstance).close()
})

export async function makeTree(dir: string, seed: string, size = 200_000): Promise<string> {
  const tree = join(dir, `tree-${seed}`)
  await mkdir(join(tree, 'etc'), { recursive: true })
  await writeFile(join(tree, 'etc/hostname'), `${seed}\n`)
  await writeFile(join(tree, 'data.bin'), randomBytes(size))
  return tree
}

export async function importPack(store: Store, kind: Kind, tree: string, ref: string, compression: 'none' | 'zstd') {
  const v = await store.import(kind, tree, ref)
  return packVersion(store, kind, v.ref, {
    compression,
    announce: ['http://old-tracker.example:1/announce'],
    webseeds: ['http://old-webseed.example:1/webseed/'],
    xattrs: false,
  })
}

export const DEFAULT_PLANS = `
[defaults]
image = "base"
overrides = ["site"]
post = "reboot"

[[node]]
mac = "52:54:00:12:34:56"
hostname = "node001"
ip = "10.0.0.11"

[[node]]
hostname = "node002"
image = "base@1"
overrides = []
post = "poweroff"

[[node]]
ip = "127.0.0.1"
image = "base@1"
`

export interface Fixture {
  dir: string
  store: Store
  token: string
  plansFile: string
  plans: PlanSource
  events: EventSink
  app: FastifyInstance
  /** base@1 (tar), base@2 (tar.zst), base@3 (unpacked); site@1 override (tar); other@1 image (tar, no plan). */
  packed: Record<string, Awaited<ReturnType<typeof importPack>>>
}

export async function fixture(opts: { plans?: string; init?: Partial<ApiInit> } = {}): Promise<Fixture> {
  const dir = await tempDir('imgswarm-api-')
  const store = new Store(join(dir, 'store'))
  const packed: Fixture['packed'] = {}
  packed['base@1'] = await importPack(store, 'image', await makeTree(dir, 'b1'), 'base@1', 'none')
  packed['base@2'] = await importPack(store, 'image', await makeTree(dir, 'b2'), 'base@2', 'zstd')
  await store.import('image', await makeTree(dir, 'b3', 1000), 'base@3')
  packed['site@1'] = await importPack(store, 'override', await makeTree(dir, 's1', 5000), 'site@1', 'none')
  packed['other@1'] = await importPack(store, 'image', await makeTree(dir, 'o1', 5000), 'other@1', 'none')
  const plansFile = join(dir, 'plans.toml')
  await writeFile(plansFile, opts.plans ?? DEFAULT_PLANS)
  const plans = await filePlanSource(plansFile)
  const events = memoryEventSink({ file: join(dir, 'events.jsonl') })
  const token = await loadOrCreateAdminToken(store.root)
  const app = await createApi({ store, adminToken: token, plans, events, publicUrl: `${PUBLIC_URL}/`, ...opts.init })
  apps.push(app)
  return { dir, store, token, plansFile, plans, events, app, packed }
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` })
