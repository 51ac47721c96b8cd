// The load test's store: one small packed image and a cluster config that
// names every simulated node (a group over the range node[0001-N] and one
// [[host]] per node with its MAC), so each plan fetch resolves a real plan.
import { createHash } from 'node:crypto'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { packVersion, Store } from '../../seeder/index.ts'

export const IMAGE = 'loadimg'

export interface SimNode {
  hostname: string
  mac: string
  /** 20 bytes, URL-encoded for the announce query. */
  peerId: string
  port: number
}

export interface Fixture {
  store: string
  infoHash: string
  nodes: SimNode[]
}

const pad = (n: number, w: number) => String(n).padStart(w, '0')
const hex2 = (n: number) => (n & 0xff).toString(16).padStart(2, '0')

export function simNodes(count: number): SimNode[] {
  const width = Math.max(4, String(count).length)
  return Array.from({ length: count }, (_, i) => {
    const n = i + 1
    const mac = `52:54:00:${hex2(n >> 16)}:${hex2(n >> 8)}:${hex2(n)}`
    return {
      hostname: `node${pad(n, width)}`,
      mac,
      peerId: `-LD0001-${pad(n, 12)}`,
      port: 20000 + (n % 40000),
    }
  })
}

export function clusterToml(nodes: SimNode[]): string {
  const width = Math.max(4, String(nodes.length).length)
  const lines = [
    '# Written by bench/load/fixture.ts',
    '[global]',
    `image = "${IMAGE}"`,
    'post = "none"',
    '',
    '[[group]]',
    'name = "load"',
    `hosts = ["node[${pad(1, width)}-${pad(nodes.length, width)}]"]`,
    '',
  ]
  for (const n of nodes) lines.push('[[host]]', `hostname = "${n.hostname}"`, `mac = "${n.mac}"`, '')
  return lines.join('\n')
}

/** Builds the store under `dir`: a 2 MiB tree imported and packed uncompressed as IMAGE@1. */
export async function buildFixture(dir: string, count: number): Promise<Fixture> {
  const tree = join(dir, 'tree')
  await mkdir(join(tree, 'etc'), { recursive: true })
  await writeFile(join(tree, 'etc/hostname'), 'golden\n')
  let seed = createHash('sha256').update('imgswarm-load').digest()
  const parts: Buffer[] = []
  for (let i = 0; i < 64; i++) {
    seed = createHash('sha256').update(seed).digest()
    parts.push(Buffer.alloc(32 * 1024, seed))
  }
  await writeFile(join(tree, 'blob'), Buffer.concat(parts))
  const store = new Store(join(dir, 'store'))
  await store.import('image', tree, `${IMAGE}@1`)
  const res = await packVersion(store, 'image', `${IMAGE}@1`, {
    compression: 'none',
    pieceLength: 256 * 1024,
    announce: ['http://127.0.0.1:1/announce'],
    webseeds: ['http://127.0.0.1:1/webseed/'],
  })
  const nodes = simNodes(count)
  await writeFile(join(store.root, 'cluster.toml'), clusterToml(nodes))
  return { store: store.root, infoHash: res.info.manifest.torrent.infoHash, nodes }
}
