import { join } from 'node:path'
import { type Kind, packVersion, Store } from '../../seeder/index.ts'

export const ANNOUNCE = 'http://127.0.0.1:8470/announce'
export const WEBSEED = 'http://127.0.0.1:8470/webseed/'

/** Imports a tree into a fresh store under `dir` and packs it. */
export async function importAndPack(
  dir: string,
  tree: string,
  opts: { compression?: 'none' | 'zstd'; name?: string; kind?: Kind } = {},
) {
  const store = new Store(join(dir, 'store'))
  const kind = opts.kind ?? 'image'
  const v = await store.import(kind, tree, opts.name ?? 'img')
  const res = await packVersion(store, kind, v.ref, {
    compression: opts.compression ?? 'none',
    announce: [ANNOUNCE],
    webseeds: [WEBSEED],
  })
  return { store, ref: v.ref, ...res }
}
