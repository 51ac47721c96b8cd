// Version metadata the lifecycle commands write: the store's meta JSON
// (createdAt, source, note) plus a changelog, one line per step that made the
// version, inherited from the version it was made from; and the default disk
// layout file beside it (meta/images/NAME/VERSION.layout.toml).
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import type { Store, VersionMeta } from '../store/store.ts'

export interface LifecycleMeta extends VersionMeta {
  changelog?: string[]
}

export function layoutFile(store: Store, name: string, version: string): string {
  return store.metaFile('image', name, version).replace(/\.json$/, '.layout.toml')
}

export async function readMeta(store: Store, name: string, version: string): Promise<LifecycleMeta | undefined> {
  try {
    return JSON.parse(await readFile(store.metaFile('image', name, version), 'utf8')) as LifecycleMeta
  } catch {
    return undefined
  }
}

export async function writeMeta(store: Store, name: string, version: string, meta: LifecycleMeta): Promise<void> {
  const file = store.metaFile('image', name, version)
  await mkdir(dirname(file), { recursive: true })
  await writeFile(file, `${JSON.stringify(meta, null, 2)}\n`)
}

/** Writes (or, with undefined, removes a stale) default layout for a version. */
export async function writeLayout(
  store: Store,
  name: string,
  version: string,
  toml: string | undefined,
): Promise<void> {
  const file = layoutFile(store, name, version)
  if (toml === undefined) {
    await rm(file, { force: true })
    return
  }
  await mkdir(dirname(file), { recursive: true })
  const head = `# Disk layout of the golden client this image was captured from (docs/capture.md#disk-layout).\n# Check the sizes before using it: the last partition grows to fill the disk.\n`
  await writeFile(file, head + toml)
}

/** A new version made from another keeps its default layout. */
export async function inheritLayout(store: Store, name: string, from: string, to: string): Promise<void> {
  await rm(layoutFile(store, name, to), { force: true })
  await copyFile(layoutFile(store, name, from), layoutFile(store, name, to)).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'ENOENT') throw e
  })
}
