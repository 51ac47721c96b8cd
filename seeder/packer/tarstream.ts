// Turns a directory tree into tar bytes: deterministic (sorted, numeric
// owners, no host names, fixed pax header names), faithful (modes, owners,
// mtimes, symlinks verbatim, hard links as links, devices, fifos, xattrs,
// sparse files) and streaming (1 MiB chunks, memory independent of size).
import { closeSync, constants, openSync, readlinkSync, readSync } from 'node:fs'
import { END_OF_ARCHIVE, encodeHeader, paddingFor, type TarEntry } from '../../common/tar/header.ts'
import { encodeSparseMap, isSparseCandidate, scanSparse } from './sparse.ts'
import { devNumbers, walkTree } from './walk.ts'
import type { XattrMap } from './xattrs.ts'

export const CHUNK = 1 << 20

export interface TarStats {
  entries: number
  files: number
  dirs: number
  symlinks: number
  hardlinks: number
  devices: number
  fifos: number
  sparse: number
  /** Bytes of file content read from the tree. */
  bytes: number
  skipped: string[]
}

export interface TarStreamOptions {
  root: string
  xattrs: XattrMap
  stats: TarStats
  onWarning?: (msg: string) => void
  onProgress?: (bytes: number) => void
  signal?: AbortSignal
  /**
   * Reuse output buffers: each yielded chunk is valid only until the
   * generator resumes. Right for a synchronous consumer; keeps memory flat.
   */
  reuseBuffers?: boolean
}

export function emptyStats(): TarStats {
  return {
    entries: 0,
    files: 0,
    dirs: 0,
    symlinks: 0,
    hardlinks: 0,
    devices: 0,
    fifos: 0,
    sparse: 0,
    bytes: 0,
    skipped: [],
  }
}

/** Collects output into 1 MiB chunks; full chunks wait in `ready`. */
class ChunkWriter {
  cur: Buffer = Buffer.allocUnsafe(CHUNK)
  pos = 0
  ready: Buffer[] = []
  readonly #free: Buffer[] = []
  readonly #reuse: boolean

  constructor(reuse: boolean) {
    this.#reuse = reuse
  }

  write(b: Buffer): void {
    let off = 0
    while (off < b.length) {
      const n = b.copy(this.cur, this.pos, off)
      off += n
      this.pos += n
      if (this.pos === CHUNK) this.#rotate()
    }
  }

  zeros(n: number): void {
    while (n > 0) {
      const take = Math.min(n, CHUNK - this.pos)
      this.cur.fill(0, this.pos, this.pos + take)
      this.pos += take
      n -= take
      if (this.pos === CHUNK) this.#rotate()
    }
  }

  /** Reads up to `len` bytes of a file straight into the output buffer. */
  readFrom(fd: number, len: number, position: number): number {
    const n = readSync(fd, this.cur, this.pos, Math.min(len, CHUNK - this.pos), position)
    this.pos += n
    if (this.pos === CHUNK) this.#rotate()
    return n
  }

  #rotate(): void {
    this.ready.push(this.cur)
    this.cur = this.#free.pop() ?? Buffer.allocUnsafe(CHUNK)
    this.pos = 0
  }

  *drain(): Generator<Buffer> {
    while (this.ready.length > 0) {
      const c = this.ready.shift() as Buffer
      yield c
      // The consumer is done with c once the generator resumes.
      if (this.#reuse) this.#free.push(c)
    }
  }

  *end(): Generator<Buffer> {
    yield* this.drain()
    if (this.pos > 0) yield this.cur.subarray(0, this.pos)
  }
}

function mtimeSeconds(ns: bigint): number {
  const s = ns / 1_000_000_000n
  return Number(ns < 0n && s * 1_000_000_000n !== ns ? s - 1n : s)
}

export function* tarStream(o: TarStreamOptions): Generator<Buffer> {
  const out = new ChunkWriter(o.reuseBuffers === true)
  const firstPathOfInode = new Map<string, Buffer>()
  const scratch = Buffer.allocUnsafe(CHUNK)
  const s = o.stats
  for (const { rel, abs, st } of walkTree(o.root)) {
    o.signal?.throwIfAborted()
    const base: TarEntry = {
      path: rel,
      type: 'file',
      mode: Number(st.mode & 0o7777n),
      uid: Number(st.uid),
      gid: Number(st.gid),
      size: 0,
      mtime: mtimeSeconds(st.mtimeNs),
      linkpath: Buffer.alloc(0),
      devmajor: 0,
      devminor: 0,
      xattrs: o.xattrs.get(abs.toString('latin1')) ?? new Map(),
    }
    if (st.isSocket()) {
      s.skipped.push(rel.toString('utf8'))
      o.onWarning?.(`skipping socket ${rel.toString('utf8')} (sockets cannot be archived)`)
      continue
    }
    s.entries++
    if (st.isDirectory()) {
      s.dirs++
      out.write(encodeHeader({ ...base, type: 'directory' }))
    } else if (st.isSymbolicLink()) {
      s.symlinks++
      out.write(encodeHeader({ ...base, type: 'symlink', linkpath: readlinkSync(abs, { encoding: 'buffer' }) }))
    } else if (st.isFIFO()) {
      s.fifos++
      out.write(encodeHeader({ ...base, type: 'fifo' }))
    } else if (st.isCharacterDevice() || st.isBlockDevice()) {
      s.devices++
      const { major, minor } = devNumbers(st.rdev)
      out.write(
        encodeHeader({ ...base, type: st.isBlockDevice() ? 'block' : 'char', devmajor: major, devminor: minor }),
      )
    } else if (st.isFile()) {
      const key = st.nlink > 1n ? `${st.dev}:${st.ino}` : undefined
      const first = key === undefined ? undefined : firstPathOfInode.get(key)
      if (first !== undefined) {
        s.hardlinks++
        out.write(encodeHeader({ ...base, type: 'link', linkpath: first }))
      } else {
        if (key !== undefined) firstPathOfInode.set(key, rel)
        s.files++
        yield* regularFile(out, abs, base, st.size, st.blocks, scratch, o)
      }
    }
    yield* out.drain()
  }
  out.write(END_OF_ARCHIVE)
  yield* out.end()
}

function* regularFile(
  out: ChunkWriter,
  abs: Buffer,
  base: TarEntry,
  size64: bigint,
  blocks: bigint,
  scratch: Buffer,
  o: TarStreamOptions,
): Generator<Buffer> {
  const size = Number(size64)
  const fd = openSync(abs, constants.O_RDONLY | constants.O_NOFOLLOW)
  try {
    const map = isSparseCandidate(size64, blocks) ? scanSparse(fd, size, scratch) : undefined
    if (map) {
      o.stats.sparse++
      const mapBytes = encodeSparseMap(map)
      const dataBytes = map.reduce((a, seg) => a + seg.size, 0)
      out.write(encodeHeader({ ...base, size: mapBytes.length + dataBytes, sparse: { realsize: size, map } }))
      out.write(mapBytes)
      for (const seg of map) yield* copyRange(out, fd, seg.offset, seg.size, abs, o)
      out.zeros(paddingFor(mapBytes.length + dataBytes))
      // The holes were read by the scan: count them as progress too.
      o.stats.bytes += size - dataBytes
      o.onProgress?.(o.stats.bytes)
    } else {
      out.write(encodeHeader({ ...base, size }))
      yield* copyRange(out, fd, 0, size, abs, o)
      out.zeros(paddingFor(size))
    }
  } finally {
    closeSync(fd)
  }
}

function* copyRange(out: ChunkWriter, fd: number, start: number, len: number, abs: Buffer, o: TarStreamOptions) {
  let done = 0
  while (done < len) {
    const n = out.readFrom(fd, len - done, start + done)
    if (n === 0)
      throw new Error(`${abs.toString('utf8')} shrank while packing; do not change an image while it is packed`)
    done += n
    o.stats.bytes += n
    if (out.ready.length > 0) {
      o.onProgress?.(o.stats.bytes)
      yield* out.drain()
    }
  }
}
