// Delta archives between two versions of an image (docs/node-update.md).
// A delta is a store version of kind `delta`: deltas/NAME/FROM-to-TO/ holds
// the entries that changed (copied with rsync, owners, modes, links, xattrs
// and holes kept) and .imgswarm-delta/delta.json (deletions, metadata-only
// changes, counts). It is packed like any version (archive, torrent, signed
// manifest), so the first seeder seeds it and the tracker allows it. Built on
// first request, then cached: versions are immutable, so deltas are too.
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { lstat, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { DELTA_DIR, DELTA_FILE, DELTA_SCHEMA, type DeltaDoc } from '../../common/delta.ts'
import { errors } from '../../common/errors.ts'
import { formatRef } from '../../common/names.ts'
import { packVersion } from '../packer/pack.ts'
import type { PackedInfo, Store } from '../store/store.ts'
import { diffTrees, type TreeDiff } from './diff.ts'

export { DELTA_DIR, DELTA_FILE, DELTA_SCHEMA, type DeltaDoc } from '../../common/delta.ts'

export interface BuiltDelta {
  info: PackedInfo
  doc: DeltaDoc
  /** False when it came from the cache. */
  built: boolean
}

/** The delta's version name: FROM-to-TO, or a hash when that would break the 64-character name rule. */
export function deltaVersion(from: string, to: string): string {
  const v = `${from}-to-${to}`
  if (v.length <= 64) return v
  return `h-${createHash('sha256').update(`${from}\0${to}`).digest('hex').slice(0, 32)}`
}

async function checkVersions(store: Store, image: string, from: string, to: string): Promise<void> {
  if (from === to) throw errors.deltaSame(formatRef(image, to))
  const have = await store.versions('image', image)
  for (const v of [from, to]) {
    if (!have.includes(v)) throw errors.deltaBuild(`image ${formatRef(image, v)} is not in the store`)
  }
}

/** What would change, without building anything (for --dry-run). */
export async function planDelta(store: Store, image: string, from: string, to: string): Promise<TreeDiff> {
  await checkVersions(store, image, from, to)
  return diffTrees(store.treeDir('image', image, from), store.treeDir('image', image, to))
}

function rsync(src: string, dest: string, list: string): Promise<void> {
  const args = ['-aHAXS', '--numeric-ids', '--from0', `--files-from=${list}`, `${src}/`, `${dest}/`]
  return new Promise((resolve, reject) => {
    const child = spawn('rsync', args, { stdio: ['ignore', 'ignore', 'pipe'] })
    let err = ''
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      if (err.length < 4096) err += d
    })
    child.on('error', (e) => reject(errors.deltaBuild(`rsync: ${e.message} (install the rsync package)`)))
    child.on('close', (c) => (c === 0 ? resolve() : reject(errors.deltaBuild(`rsync exit ${c}: ${err.trim()}`))))
  })
}

const building = new Map<string, Promise<BuiltDelta>>()

export interface BuildDeltaInit {
  /** This server's public URL: the delta's torrent announces here and names its web seed. */
  publicUrl: string
  compression?: 'none' | 'zstd'
  signal?: AbortSignal
}

/** The delta from image@from to image@to, packed; built now if the store has none. One build per delta at a time. */
export function buildDelta(store: Store, image: string, from: string, to: string, o: BuildDeltaInit) {
  const key = `${store.root}\0${image}\0${from}\0${to}`
  let p = building.get(key)
  if (!p) {
    p = build(store, image, from, to, o).finally(() => building.delete(key))
    building.set(key, p)
  }
  return p
}

async function readDoc(store: Store, image: string, version: string): Promise<DeltaDoc> {
  return JSON.parse(await readFile(join(store.treeDir('delta', image, version), DELTA_FILE), 'utf8')) as DeltaDoc
}

async function build(store: Store, image: string, from: string, to: string, o: BuildDeltaInit): Promise<BuiltDelta> {
  await checkVersions(store, image, from, to)
  const version = deltaVersion(from, to)
  const cached = await store.packed('delta', image, version)
  if (cached) return { info: cached, doc: await readDoc(store, image, version), built: false }
  const toRoot = store.treeDir('image', image, to)
  if (await lstat(join(toRoot, DELTA_DIR)).catch(() => undefined)) {
    throw errors.deltaBuild(`${formatRef(image, to)} has a top-level ${DELTA_DIR}, a name deltas reserve`)
  }
  const diff = await diffTrees(store.treeDir('image', image, from), toRoot)
  const tmp = await store.scratch('delta')
  try {
    const tree = join(tmp, 'tree')
    await mkdir(join(tree, DELTA_DIR), { recursive: true, mode: 0o755 })
    if (diff.carry.length > 0) {
      const list = join(tmp, 'files')
      await writeFile(list, Buffer.concat(diff.carry.map((p) => Buffer.from(`${p}\0`, 'latin1'))))
      await rsync(toRoot, tree, list)
    }
    const doc: DeltaDoc = {
      schema: DELTA_SCHEMA,
      image,
      from,
      to,
      added: diff.added,
      changed: diff.changed,
      deleted: diff.deleted,
      meta: diff.meta,
      bytes: diff.bytes,
      carried: diff.carry.length,
    }
    await writeFile(join(tree, DELTA_FILE), `${JSON.stringify(doc)}\n`, { mode: 0o644 })
    const dest = store.treeDir('delta', image, version)
    await rm(dest, { recursive: true, force: true })
    await mkdir(join(dest, '..'), { recursive: true })
    await rename(tree, dest)
    const compression = o.compression ?? 'zstd'
    const ref = formatRef(image, version)
    const base = o.publicUrl.replace(/\/+$/, '')
    const res = await packVersion(store, 'delta', ref, {
      compression,
      announce: [`${base}/announce`],
      webseeds: [`${base}/webseed/deltas/${ref}.tar${compression === 'zstd' ? '.zst' : ''}`],
      ...(o.signal ? { signal: o.signal } : {}),
    })
    return { info: res.info, doc, built: true }
  } finally {
    await rm(tmp, { recursive: true, force: true })
  }
}
