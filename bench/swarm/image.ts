// The image every method distributes: a generated tree (incompressible data,
// a few large files and many small ones, like a system image), imported and
// packed uncompressed into a store, untimed. The store is reused while the
// stamp matches.
import { spawn } from 'node:child_process'
import { createCipheriv, createHash } from 'node:crypto'
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { errors } from '../../common/errors.ts'
import type { Launcher } from './tools.ts'

export const IMAGE = 'swarmbench'
/** The image's tree again, as content for `imgswarm fetch` (the general distribution case). */
export const CONTENT = 'swarmbench-content'
/** Nothing listens there: serve hands out torrents with its own tracker and web seed; aria2c gets its own. */
const PACK_ANNOUNCE = 'http://127.0.0.1:1/announce'

export interface Image {
  store: string
  /** The packed archive, what the baselines send and tar -x extracts. */
  archive: string
  torrent: string
  /** Archive size: F. */
  bytes: number
  /** Bytes of regular-file content in the tree: what a complete extraction holds. */
  fileBytes: number
  files: number
  /** The same tree published as public content (`imgswarm fetch CONTENT`), for the fetch method. */
  content: string
}

/** Deterministic incompressible bytes: AES-128-CTR over zeros, keyed by the seed. */
function stream(seed: string) {
  const key = createHash('sha256').update(seed).digest().subarray(0, 16)
  const c = createCipheriv('aes-128-ctr', key, Buffer.alloc(16))
  return (n: number) => c.update(Buffer.alloc(n))
}

/** About 90% of the bytes in 8 large files, the rest in small files of 1-64 KiB. */
function makeTree(dir: string, bytes: number, seed: string): { files: number; fileBytes: number } {
  const rand = stream(seed)
  let files = 0
  let fileBytes = 0
  const put = (rel: string, n: number) => {
    mkdirSync(join(dir, rel, '..'), { recursive: true })
    let left = n
    const parts: Buffer[] = []
    while (left > 0) {
      const k = Math.min(left, 8 << 20)
      parts.push(rand(k))
      left -= k
    }
    writeFileSync(join(dir, rel), Buffer.concat(parts))
    files++
    fileBytes += n
  }
  const large = Math.floor((bytes * 0.9) / 8)
  for (let i = 0; i < 8; i++) put(`usr/lib/big/blob${i}.bin`, large)
  const small = rand(4)
  let r = small.readUInt32LE(0)
  for (let i = 0; fileBytes < bytes; i++) {
    r = (Math.imul(r, 1664525) + 1013904223) >>> 0
    put(`usr/share/data/d${i % 64}/f${i}.dat`, 1024 + (r % (63 * 1024)))
  }
  // What the install's identity step rewrites in any image.
  const text = (rel: string, body: string) => {
    mkdirSync(join(dir, rel, '..'), { recursive: true })
    writeFileSync(join(dir, rel), body)
    files++
    fileBytes += Buffer.byteLength(body)
  }
  text('etc/hostname', 'golden\n')
  text('etc/hosts', '127.0.0.1\tlocalhost\n127.0.1.1\tgolden\n')
  text('etc/machine-id', '0123456789abcdef0123456789abcdef\n')
  return { files, fileBytes }
}

function cli(l: Launcher, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(l.cmd, [...l.pre, ...args], { env: l.env, stdio: ['ignore', 'ignore', 'pipe'] })
    let err = ''
    child.stderr.on('data', (b: Buffer) => {
      err = (err + b.toString()).slice(-4000)
    })
    child.on('error', (e) => reject(errors.tool(`imgswarm ${args[0]}`, e.message)))
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(errors.tool(`imgswarm ${args.slice(0, 2).join(' ')}`, `exit ${code}\n${err}`)),
    )
  })
}

function found(store: string, spec: string): Image | undefined {
  const stampFile = join(store, 'swarmbench.stamp.json')
  if (!existsSync(stampFile)) return undefined
  const stamp = JSON.parse(readFileSync(stampFile, 'utf8')) as { spec: string; image: Image }
  if (stamp.spec !== spec || !existsSync(stamp.image.archive)) return undefined
  return stamp.image
}

export async function prepareImage(
  l: Launcher,
  work: string,
  megabytes: number,
  log: (line: string) => void,
): Promise<Image> {
  const store = join(work, 'store')
  const spec = JSON.stringify({ megabytes, seed: 'imgswarm-swarm-1', version: 2 })
  const have = found(store, spec)
  if (have) {
    log(`image: reusing ${have.archive}`)
    return have
  }
  rmSync(store, { recursive: true, force: true })
  const tree = join(work, 'tree')
  rmSync(tree, { recursive: true, force: true })
  log(`image: generating a ${megabytes} MB tree (untimed)`)
  const t = makeTree(tree, megabytes * 1e6, spec)
  const common = ['--store', store, '--config', 'none']
  await cli(l, ['image', 'import', tree, IMAGE, ...common])
  log('image: packing it uncompressed, and publishing the same tree as content (untimed)')
  await cli(l, ['image', 'pack', IMAGE, ...common, '--announce', PACK_ANNOUNCE, '--compress', 'none', '--quiet'])
  await cli(l, ['publish', tree, CONTENT, ...common, '--public', '--compress', 'none', '--quiet'])
  rmSync(tree, { recursive: true, force: true })
  const packed = join(store, 'packed', 'images')
  const tar = readdirSync(packed).find((f) => f.startsWith(`${IMAGE}@`) && f.endsWith('.tar'))
  if (!tar) throw errors.tool('imgswarm image pack', `no ${IMAGE}@VERSION.tar in ${packed}`)
  const archive = join(packed, tar)
  const image: Image = {
    store,
    archive,
    torrent: archive.replace(/\.tar$/, '.torrent'),
    bytes: statSync(archive).size,
    ...t,
    content: CONTENT,
  }
  writeFileSync(join(store, 'swarmbench.stamp.json'), JSON.stringify({ spec, image }))
  return image
}

/** plans.toml naming every node host: serve refuses a plan to a node the file does not name. */
export function writePlans(store: string, hostnames: string[]): void {
  const nodes = hostnames.map((h) => `[[node]]\nhostname = "${h}"\n`).join('\n')
  writeFileSync(join(store, 'plans.toml'), `[defaults]\nimage = "${IMAGE}"\npost = "none"\n\n${nodes}`)
}
