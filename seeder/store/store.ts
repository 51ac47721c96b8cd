// The image store on disk:
//   images/NAME/VERSION/           the tree, exactly as it will be installed
//   overrides/NAME/VERSION/        override trees, same rules
//   meta/KIND/NAME/VERSION.json    import facts: when, from where, notes
//   packed/KIND/NAME@VERSION.*     archive, .torrent, .index.json (uncompressed archives only),
//                                  .manifest.json, .manifest.sig
//   keys/                          the signing key
//   tmp/                           work in progress (same filesystem: renames are atomic)
import { randomBytes } from 'node:crypto'
import { lstat, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { errors } from '../../common/errors.ts'
import type { Manifest } from '../../common/manifest.ts'
import { checkName, compareVersions, formatRef, nextVersion, parseRef } from '../../common/names.ts'
import { copyTree } from './copy.ts'

export type Kind = 'image' | 'override' | 'content' | 'delta'

export interface VersionMeta {
  createdAt: string
  source: string
  note?: string
  /** Content only: readable by anyone who can reach the server (`publish --public`, docs/content.md). */
  public?: boolean
}

export interface VersionInfo {
  kind: Kind
  name: string
  version: string
  ref: string
  path: string
  meta: VersionMeta | undefined
  packed: PackedInfo | undefined
}

export interface PackedInfo {
  manifest: Manifest
  archive: string
  torrent: string
  manifestFile: string
  signatureFile: string
  /** The archive index file, when the manifest lists one (uncompressed archives). */
  index: string | undefined
}

const DIRS: Record<Kind, string> = { image: 'images', override: 'overrides', content: 'content', delta: 'deltas' }

async function exists(p: string): Promise<boolean> {
  try {
    await lstat(p)
    return true
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false
    throw e
  }
}

/** A source tree must be an existing directory; a coded error otherwise. */
export async function checkSourceDir(src: string): Promise<void> {
  let st: Awaited<ReturnType<typeof stat>>
  try {
    st = await stat(src)
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    throw errors.sourceNotDir(src, code === 'ENOENT' ? 'no such directory' : `cannot read it (${code ?? String(e)})`)
  }
  if (!st.isDirectory()) throw errors.sourceNotDir(src, 'not a directory')
}

export class Store {
  readonly root: string

  constructor(root: string) {
    this.root = root
  }

  treeDir(kind: Kind, name: string, version: string): string {
    return join(this.root, DIRS[kind], name, version)
  }
  metaFile(kind: Kind, name: string, version: string): string {
    return join(this.root, 'meta', DIRS[kind], name, `${version}.json`)
  }
  packedDir(kind: Kind): string {
    return join(this.root, 'packed', DIRS[kind])
  }
  /** Path prefix of a version's packed files: `packed/images/NAME@VER`. */
  packedBase(kind: Kind, name: string, version: string): string {
    return join(this.packedDir(kind), formatRef(name, version))
  }
  get keysDir(): string {
    return join(this.root, 'keys')
  }

  /** A fresh scratch directory under tmp/, on the store's filesystem. */
  async scratch(prefix: string): Promise<string> {
    const dir = join(this.root, 'tmp', `${prefix}-${randomBytes(6).toString('hex')}`)
    await mkdir(dir, { recursive: true, mode: 0o700 })
    return dir
  }

  async names(kind: Kind): Promise<string[]> {
    try {
      const list = await readdir(join(this.root, DIRS[kind]), { withFileTypes: true })
      return list
        .filter((d) => d.isDirectory())
        .map((d) => d.name)
        .sort()
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return []
      throw e
    }
  }

  async versions(kind: Kind, name: string): Promise<string[]> {
    checkName(`${kind} name`, name)
    try {
      const list = await readdir(join(this.root, DIRS[kind], name), { withFileTypes: true })
      return list
        .filter((d) => d.isDirectory())
        .map((d) => d.name)
        .sort(compareVersions)
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return []
      throw e
    }
  }

  /** Resolves `NAME[@VER]` to an existing version (the latest when none is given). */
  async resolve(kind: Kind, ref: string): Promise<{ name: string; version: string }> {
    const r = parseRef(ref, kind)
    const versions = await this.versions(kind, r.name)
    if (versions.length === 0) throw errors.notFound(kind, r.name)
    if (r.version === undefined) return { name: r.name, version: versions[versions.length - 1] as string }
    if (!versions.includes(r.version)) {
      throw errors.notFound(kind, ref, `${r.name} has versions: ${versions.join(', ')}`)
    }
    return { name: r.name, version: r.version }
  }

  async info(kind: Kind, name: string, version: string): Promise<VersionInfo> {
    let meta: VersionMeta | undefined
    try {
      meta = JSON.parse(await readFile(this.metaFile(kind, name, version), 'utf8')) as VersionMeta
    } catch {
      meta = undefined
    }
    return {
      kind,
      name,
      version,
      ref: formatRef(name, version),
      path: this.treeDir(kind, name, version),
      meta,
      packed: await this.packed(kind, name, version),
    }
  }

  /** The packed files of a version, or undefined if it has not been packed. */
  async packed(kind: Kind, name: string, version: string): Promise<PackedInfo | undefined> {
    const base = this.packedBase(kind, name, version)
    const manifestFile = `${base}.manifest.json`
    const signatureFile = `${base}.manifest.sig`
    // The signature is written last: without it, a pack did not finish.
    if (!(await exists(signatureFile))) return undefined
    const manifest = JSON.parse(await readFile(manifestFile, 'utf8')) as Manifest
    return {
      manifest,
      archive: join(this.packedDir(kind), manifest.archive.file),
      torrent: `${base}.torrent`,
      manifestFile,
      signatureFile,
      index: manifest.index === undefined ? undefined : join(this.packedDir(kind), manifest.index.file),
    }
  }

  /** Every packed version of both kinds, in name and version order. */
  async allPacked(): Promise<{ kind: Kind; info: PackedInfo }[]> {
    const out: { kind: Kind; info: PackedInfo }[] = []
    for (const kind of ['image', 'override', 'content', 'delta'] as const) {
      for (const name of await this.names(kind)) {
        for (const version of await this.versions(kind, name)) {
          const info = await this.packed(kind, name, version)
          if (info) out.push({ kind, info })
        }
      }
    }
    return out
  }

  async #writeMeta(kind: Kind, name: string, version: string, meta: VersionMeta): Promise<void> {
    const file = this.metaFile(kind, name, version)
    await mkdir(join(file, '..'), { recursive: true })
    await writeFile(file, `${JSON.stringify(meta, null, 2)}\n`)
  }

  /** Copies a directory tree into a new version, preserving everything. */
  async import(
    kind: Kind,
    src: string,
    ref: string,
    opts: { note?: string | undefined; public?: boolean | undefined; onProgress?: (bytes: number) => void } = {},
  ): Promise<VersionInfo> {
    const r = parseRef(ref, kind)
    await checkSourceDir(src)
    const version = r.version ?? nextVersion(await this.versions(kind, r.name))
    const dest = this.treeDir(kind, r.name, version)
    if (await exists(dest)) throw errors.exists(kind, formatRef(r.name, version))
    const tmp = await this.scratch('import')
    try {
      await copyTree(src, join(tmp, 'tree'), opts.onProgress)
      await mkdir(join(dest, '..'), { recursive: true })
      await rename(join(tmp, 'tree'), dest)
    } finally {
      await rm(tmp, { recursive: true, force: true })
    }
    const meta: VersionMeta = { createdAt: new Date().toISOString(), source: src }
    if (opts.note !== undefined) meta.note = opts.note
    if (opts.public === true) meta.public = true
    await this.#writeMeta(kind, r.name, version, meta)
    return this.info(kind, r.name, version)
  }

  /** Copies a version to a new, unpacked version (of the same or another name). */
  async copy(kind: Kind, from: string, to: string, opts: { note?: string } = {}): Promise<VersionInfo> {
    const src = await this.resolve(kind, from)
    const srcInfo = await this.info(kind, src.name, src.version)
    const r = parseRef(to, kind)
    const version = r.version ?? nextVersion(await this.versions(kind, r.name))
    const dest = this.treeDir(kind, r.name, version)
    if (await exists(dest)) throw errors.exists(kind, formatRef(r.name, version))
    const tmp = await this.scratch('copy')
    try {
      await copyTree(srcInfo.path, join(tmp, 'tree'))
      await mkdir(join(dest, '..'), { recursive: true })
      await rename(join(tmp, 'tree'), dest)
    } finally {
      await rm(tmp, { recursive: true, force: true })
    }
    const meta: VersionMeta = { createdAt: new Date().toISOString(), source: `${kind}:${srcInfo.ref}` }
    if (opts.note !== undefined) meta.note = opts.note
    await this.#writeMeta(kind, r.name, version, meta)
    return this.info(kind, r.name, version)
  }

  /**
   * Renames a version. Its packed files are signed under the old name, so a
   * packed version cannot move: copy it instead.
   */
  async move(kind: Kind, from: string, to: string): Promise<VersionInfo> {
    const src = await this.resolve(kind, from)
    const info = await this.info(kind, src.name, src.version)
    if (info.packed) throw errors.immutable(info.ref)
    const r = parseRef(to, kind)
    const version = r.version ?? src.version
    const dest = this.treeDir(kind, r.name, version)
    if (await exists(dest)) throw errors.exists(kind, formatRef(r.name, version))
    await mkdir(join(dest, '..'), { recursive: true })
    await rename(info.path, dest)
    const metaDest = this.metaFile(kind, r.name, version)
    await mkdir(join(metaDest, '..'), { recursive: true })
    await rename(this.metaFile(kind, src.name, src.version), metaDest).catch(() => undefined)
    await this.#pruneEmpty(kind, src.name)
    return this.info(kind, r.name, version)
  }

  /** Removes one version (tree, meta and packed files). */
  async remove(kind: Kind, name: string, version: string): Promise<void> {
    const info = await this.info(kind, name, version)
    // Packed files first: a half-removed version must not look packed.
    if (info.packed) {
      await rm(info.packed.signatureFile, { force: true })
      await rm(info.packed.manifestFile, { force: true })
      await rm(info.packed.torrent, { force: true })
      if (info.packed.index !== undefined) await rm(info.packed.index, { force: true })
      await rm(info.packed.archive, { force: true })
    }
    await rm(info.path, { recursive: true, force: true })
    await rm(this.metaFile(kind, name, version), { force: true })
    await this.#pruneEmpty(kind, name)
  }

  async #pruneEmpty(kind: Kind, name: string): Promise<void> {
    if ((await this.versions(kind, name)).length > 0) return
    await rm(join(this.root, DIRS[kind], name), { recursive: true, force: true })
    await rm(join(this.root, 'meta', DIRS[kind], name), { recursive: true, force: true })
  }
}
