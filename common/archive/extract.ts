// The safe extractor. It runs as root on other people's disks with archives
// from the network, so every entry is treated as hostile: paths are checked
// (never repaired), nothing is created through a symlink, hard links may only
// point at regular files already inside the target, and the first problem
// stops the extraction with a coded error naming the entry.
import { constants as C } from 'node:fs'
import { type FileHandle, lchown, link, lstat, lutimes, mkdir, open, symlink } from 'node:fs/promises'
import { PATH_MAX } from '../constants.ts'
import { errors, isImgswarmError } from '../errors.ts'
import { quotePath, sanitizeEntryPath } from '../paths.ts'
import type { ReadEntry, ReaderLimits } from '../tar/reader.ts'
import { TarReader } from '../tar/reader.ts'
import { setXattrs } from './fsops.ts'
import { placeNode } from './nodes.ts'
import { checkKernelLimits, finishDirectory, modeFor } from './rules.ts'
import { type DirId, keyOf, SafeTree } from './safe-fs.ts'

export interface ExtractOptions {
  /** Restore numeric owners. Default: only when running as root. */
  preserveOwner?: boolean
  signal?: AbortSignal
  /** Called for each entry before it is extracted. */
  onEntry?: (e: ReadEntry) => void
  /** Called with the archive offset reached (tar bytes, after decompression). */
  onProgress?: (bytesRead: number) => void
  onWarning?: (msg: string) => void
  limits?: Partial<ReaderLimits>
}

export interface ExtractResult {
  /** Every entry of the archive, the root `./` included. */
  entries: number
  /** Regular files (hard links not included). */
  files: number
  dirs: number
  /** File data bytes written (for sparse files, the data, not the holes). */
  bytes: number
}

interface PendingDir {
  abs: Buffer
  id: DirId
  depth: number
  /** The archive's entry for it; undefined for parents the archive did not list. */
  entry: ReadEntry | undefined
}

const FILE_FLAGS = C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW

/** fs errors (they have a syscall) become coded errors naming the entry; others pass. */
function named(e: unknown, name: string): unknown {
  if (isImgswarmError(e)) return e
  const err = e as NodeJS.ErrnoException
  if (typeof err?.syscall === 'string') return errors.extractIo(name, err.message)
  return e
}

async function writeAll(fh: FileHandle, b: Buffer, position: number): Promise<void> {
  let done = 0
  while (done < b.length) {
    const { bytesWritten } = await fh.write(b, done, b.length - done, position + done)
    done += bytesWritten
  }
}

class Extractor {
  readonly result: ExtractResult = { entries: 0, files: 0, dirs: 0, bytes: 0 }
  readonly #opts: ExtractOptions
  readonly #preserveOwner: boolean
  readonly #pending = new Map<string, PendingDir>()
  #tree: SafeTree | undefined
  #rootEntry: ReadEntry | undefined
  #stripped = 0

  constructor(opts: ExtractOptions) {
    this.#opts = opts
    this.#preserveOwner = opts.preserveOwner ?? process.getuid?.() === 0
  }

  get tree(): SafeTree {
    if (!this.#tree) throw new Error('extractor not opened')
    return this.#tree
  }

  async open(targetDir: string): Promise<void> {
    this.#tree = await SafeTree.open(targetDir, {
      onImplicitDir: (key, abs, id) => {
        if (!this.#pending.has(key)) this.#pending.set(key, { abs, id, depth: key.split('/').length, entry: undefined })
      },
      onRemovedDir: (key) => {
        const under = `${key}/`
        for (const k of this.#pending.keys()) if (k === key || k.startsWith(under)) this.#pending.delete(k)
      },
    })
  }

  /** Mode to set; without owner restoring, setuid/setgid would hand our own uid to whoever runs the file. */
  #mode(e: ReadEntry): number {
    const mode = modeFor(e, this.#preserveOwner)
    if (mode !== e.mode) this.#stripped++
    return mode
  }

  /** Owner, then mode (chown clears setuid), then xattrs (chown clears capabilities), then times. */
  async #meta(fh: FileHandle, e: ReadEntry): Promise<void> {
    if (this.#preserveOwner) await fh.chown(e.uid, e.gid)
    await fh.chmod(this.#mode(e))
    await setXattrs(fh.fd, e.xattrs)
    await fh.utimes(e.mtime, e.mtime)
  }

  async entry(e: ReadEntry, reader: TarReader): Promise<void> {
    const name = quotePath(e.path)
    const comps = sanitizeEntryPath(e.path)
    this.result.entries++
    checkKernelLimits(e, name)
    if (comps.length === 0) {
      if (e.type !== 'directory') throw errors.pathEscape(name, 'a non-directory entry names the extraction root')
      this.#rootEntry = e
      this.result.dirs++
      return
    }
    try {
      await this.tree.parents(comps, name)
      switch (e.type) {
        case 'file':
          return await this.#file(e, comps, name, reader)
        case 'directory':
          return await this.#dir(e, comps, name)
        case 'link':
          return await this.#hardlink(e, comps, name)
        case 'symlink':
          return await this.#symlink(e, comps, name)
        default:
          await this.tree.clear(comps, name, false)
          await placeNode(this.tree, comps, name, e, this.#preserveOwner, this.#mode(e))
      }
    } catch (err) {
      throw named(err, name)
    }
  }

  async #file(e: ReadEntry, comps: Buffer[], name: string, reader: TarReader): Promise<void> {
    await this.tree.clear(comps, name, false)
    const fh = await open(this.tree.abs(comps, comps.length, name), FILE_FLAGS, 0o600)
    try {
      const signal = this.#opts.signal
      const map = e.sparse?.map
      // Sparse: size the file first so the gaps between segments stay holes.
      if (e.sparse) await fh.truncate(e.sparse.realsize)
      let seg = 0
      let segDone = 0
      let pos = 0
      for await (const chunk of reader.data()) {
        signal?.throwIfAborted()
        this.result.bytes += chunk.length
        if (!map) {
          await writeAll(fh, chunk, pos)
          pos += chunk.length
        } else {
          // The data holds the map's segments back to back.
          let off = 0
          while (off < chunk.length) {
            const s = map[seg]
            if (s === undefined) throw errors.archiveCorrupt(e.dataOffset, `sparse data of ${name} overruns its map`)
            const n = Math.min(s.size - segDone, chunk.length - off)
            if (n === 0) {
              seg++
              segDone = 0
              continue
            }
            await writeAll(fh, chunk.subarray(off, off + n), s.offset + segDone)
            off += n
            segDone += n
          }
        }
        this.#opts.onProgress?.(reader.offset)
      }
      await this.#meta(fh, e)
    } finally {
      await fh.close()
    }
    this.result.files++
  }

  async #dir(e: ReadEntry, comps: Buffer[], name: string): Promise<void> {
    const p = this.tree.abs(comps, comps.length, name)
    let st = await this.tree.clear(comps, name, true)
    if (st === undefined) {
      await mkdir(p, 0o700)
      st = await lstat(p)
      if (!st.isDirectory()) throw errors.pathThroughSymlink(name, name)
    }
    const key = keyOf(comps)
    this.tree.verified(key)
    // A later entry for the same directory wins; its metadata is applied at the end.
    this.#pending.set(key, { abs: p, id: { dev: st.dev, ino: st.ino }, depth: comps.length, entry: e })
    this.result.dirs++
  }

  async #hardlink(e: ReadEntry, comps: Buffer[], name: string): Promise<void> {
    const target = quotePath(e.linkpath)
    const refuse = (why: string) => errors.hardlinkEscape(name, target, why)
    let tcomps: Buffer[]
    try {
      tcomps = sanitizeEntryPath(e.linkpath)
    } catch (err) {
      throw refuse(isImgswarmError(err) ? err.message.replace(/^archive entry .*?: /, '') : String(err))
    }
    if (tcomps.length === 0) throw refuse('the target is the extraction root')
    if (keyOf(tcomps) === keyOf(comps)) throw refuse('an entry cannot link to itself')
    await this.tree.parents(tcomps, name, false, refuse)
    const from = this.tree.abs(tcomps, tcomps.length, name)
    const st = await lstat(from).catch(() => undefined)
    if (st === undefined) throw refuse('the target does not exist in the extraction root')
    if (!st.isFile()) throw refuse(`the target is a ${st.isSymbolicLink() ? 'symlink' : 'non-regular file'}`)
    await this.tree.clear(comps, name, false)
    // link(2) never follows a symlink in its source, and the target was checked above.
    await link(from, this.tree.abs(comps, comps.length, name))
  }

  async #symlink(e: ReadEntry, comps: Buffer[], name: string): Promise<void> {
    // The target is kept verbatim, absolute ones too: they point into the new root once it boots.
    const target = e.linkpath
    if (target.length === 0) throw errors.unsupportedEntry(name, 'symlink with an empty target')
    if (target.includes(0)) throw errors.pathEscape(name, 'symlink target contains a NUL byte')
    if (target.length >= PATH_MAX) throw errors.nameTooLong(name, `symlink target of ${target.length} bytes`)
    await this.tree.clear(comps, name, false)
    if (e.xattrs.size > 0) {
      await placeNode(this.tree, comps, name, e, this.#preserveOwner, 0)
      return
    }
    const p = this.tree.abs(comps, comps.length, name)
    await symlink(target, p)
    if (this.#preserveOwner) await lchown(p, e.uid, e.gid)
    await lutimes(p, e.mtime, e.mtime)
  }

  /** Directory metadata, deepest first so read-only directories and directory times come out right. */
  async finish(): Promise<void> {
    const dirs = [...this.#pending.values()].sort((a, b) => b.depth - a.depth)
    for (const d of dirs) {
      this.#opts.signal?.throwIfAborted()
      await this.#finishDir(d.abs, d.id, d.entry)
    }
    if (this.#rootEntry) await this.#finishDir(this.tree.root, this.tree.rootId, this.#rootEntry)
    if (this.#stripped > 0) {
      this.#opts.onWarning?.(
        `cleared setuid/setgid on ${this.#stripped} entr${this.#stripped === 1 ? 'y' : 'ies'}: owners are not being restored`,
      )
    }
  }

  async #finishDir(abs: Buffer, id: DirId, e: ReadEntry | undefined): Promise<void> {
    const name = e ? quotePath(e.path) : quotePath(abs)
    try {
      await finishDirectory(abs, id, name, this.#preserveOwner, e ? (fh) => this.#meta(fh, e) : undefined)
    } catch (err) {
      throw named(err, name)
    }
  }
}

/**
 * Extracts a tar stream into `targetDir` (created if missing). Strict: the
 * first hostile, corrupt or failing entry stops it with a coded error, and
 * nothing is ever created outside `targetDir`.
 */
export async function extractArchive(
  source: AsyncIterable<Buffer>,
  targetDir: string,
  opts: ExtractOptions = {},
): Promise<ExtractResult> {
  const x = new Extractor(opts)
  await x.open(targetDir)
  const reader = new TarReader(source, opts.limits)
  try {
    for (;;) {
      opts.signal?.throwIfAborted()
      const e = await reader.next()
      if (e === undefined) break
      opts.onEntry?.(e)
      await x.entry(e, reader)
      opts.onProgress?.(reader.offset)
    }
    await x.finish()
  } finally {
    await reader.close()
  }
  return x.result
}
