// `imgswarm publish`: any directory becomes a content version (kind
// 'content', STORE/content/NAME/VERSION), packed exactly like an image:
// deterministic tar, private torrent, archive index, signed manifest.
// docs/content.md.
import type { PackOptions, PackResult } from '../packer/pack.ts'
import { packVersion } from '../packer/pack.ts'
import type { Store, VersionInfo } from '../store/store.ts'

export { authorizeContentRead, isPublic } from './access.ts'
export { type ContentPointer, contentPointerSchema, registerFetchRoutes } from './routes.ts'

export interface PublishInit {
  note?: string | undefined
  /** Readable by anyone who can reach the server, without the admin token. */
  public?: boolean | undefined
  onImport?: (bytes: number) => void
}

export interface Published {
  version: VersionInfo
  pack: PackResult
}

/** Imports DIR as the next (or the given) content version and packs it; the version is immutable from then on. */
export async function publishContent(
  store: Store,
  dir: string,
  ref: string,
  init: PublishInit,
  pack: PackOptions,
): Promise<Published> {
  const version = await store.import('content', dir, ref, {
    note: init.note,
    public: init.public,
    ...(init.onImport ? { onProgress: init.onImport } : {}),
  })
  try {
    const res = await packVersion(store, 'content', version.ref, pack)
    return { version, pack: res }
  } catch (e) {
    // An unpacked content version is of no use to anyone: do not leave it behind.
    await store.remove('content', version.name, version.version).catch(() => undefined)
    throw e
  }
}
