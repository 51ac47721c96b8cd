// One install target being filled piece by piece. Pieces are split over the
// runs of the layout: file bytes go to their files (positional writes, any
// order), the rest to the side file. A file whose bytes are all written gets
// its metadata at once; the written pieces are recorded for resume.
import { constants as C } from 'node:fs'
import { type FileHandle, lstat, open, rm, utimes } from 'node:fs/promises'
import { join } from 'node:path'
import { errors } from '../../../common/errors.ts'
import { FdCache } from './fds.ts'
import { finalizeTree } from './finalize.ts'
import { type Frozen, freezeFiles, openFrozen } from './freeze.ts'
import { type IoContext, readRange, writeRange } from './io.ts'
import { absOf, entryName, type Prepared } from './meta.ts'
import { type InPlaceInit, prepareTree } from './prepare.ts'
import { countBits, getBit, SIDE_FILE, setBit, writeState } from './state.ts'
import { StreamCheck } from './stream-check.ts'

export interface InPlaceOptions {
  /** Open files kept for writing and for reading (each; default 64). */
  fdCacheSize?: number
  /** Longest time between resume-state writes, ms (default 1000). */
  flushMs?: number
}

const READ_CHUNK = 1 << 20

export class InPlaceTarget {
  readonly #p: Prepared
  readonly #writers: FdCache
  readonly #readers: FdCache
  readonly #inflight = new Map<number, Promise<void>>()
  readonly #flushMs: number
  readonly #io: IoContext
  #side: Promise<FileHandle> | undefined
  #written: number
  #dirty = false
  #timer: NodeJS.Timeout | undefined
  #flushing: Promise<void> = Promise.resolve()
  #state: 'open' | 'finalized' | 'cleaned' = 'open'
  #frozen: Frozen | undefined
  #failed: unknown
  #check: StreamCheck | undefined

  constructor(p: Prepared, opts: InPlaceOptions = {}) {
    this.#p = p
    const cache = opts.fdCacheSize ?? 64
    this.#writers = new FdCache(cache, (i) => this.#openFile(i, C.O_WRONLY))
    this.#readers = new FdCache(cache, (i) => this.#openFile(i, C.O_RDONLY))
    this.#flushMs = opts.flushMs ?? 1000
    this.#io = { p, writers: this.#writers, readers: this.#readers, side: () => this.#sideFile() }
    this.#written = countBits(p.bits, p.header.pieceCount)
  }

  get root(): string {
    return this.#p.tree.root.toString()
  }
  get pieceLength(): number {
    return this.#p.header.pieceLength
  }
  get pieceCount(): number {
    return this.#p.header.pieceCount
  }
  get archiveSize(): number {
    return this.#p.layout.archiveSize
  }
  /** True when prepareInPlace found this install unfinished and picked it up. */
  get resumed(): boolean {
    return this.#p.resumed
  }
  get missing(): number {
    return this.pieceCount - this.#written
  }
  /** A copy of the written-pieces bitfield (BEP 3 bit order). */
  writtenPieces(): Uint8Array {
    return new Uint8Array(this.#p.bits)
  }
  hasPiece(piece: number): boolean {
    return Number.isInteger(piece) && piece >= 0 && piece < this.pieceCount && getBit(this.#p.bits, piece)
  }
  pieceSize(piece: number): number {
    if (!Number.isInteger(piece) || piece < 0 || piece >= this.pieceCount) {
      throw errors.inplacePieceRange(piece, `no such piece (the torrent has ${this.pieceCount})`)
    }
    return Math.min(this.pieceLength, this.archiveSize - piece * this.pieceLength)
  }

  async #openFile(i: number, mode: number): Promise<FileHandle> {
    const fh = await open(absOf(this.#p, i), mode | C.O_NOFOLLOW)
    if (mode === C.O_WRONLY) return fh
    const st = await fh.stat({ bigint: true })
    if (st.ino !== this.#p.files.ino(i) || !st.isFile()) {
      await fh.close()
      throw errors.inplaceTreeChanged(this.#name(i), 'was replaced by another file')
    }
    return fh
  }

  #name(i: number): string {
    return entryName(this.#p, i)
  }

  #sideFile(): Promise<FileHandle> {
    this.#side ??= open(join(this.#p.workDir, SIDE_FILE), C.O_RDWR | C.O_NOFOLLOW)
    return this.#side
  }

  /** Writes one verified piece into the tree. A piece already written is not written again. */
  async writePiece(piece: number, buf: Buffer): Promise<void> {
    if (this.#state !== 'open') throw errors.inplaceClosed(this.#state === 'cleaned' ? 'cleaned up' : 'finalized')
    const size = this.pieceSize(piece)
    if (buf.length !== size) throw errors.inplacePieceRange(piece, `${buf.length} bytes given, the piece has ${size}`)
    if (getBit(this.#p.bits, piece)) return
    const running = this.#inflight.get(piece)
    if (running) return running
    const p = this.#write(piece, buf).finally(() => this.#inflight.delete(piece))
    this.#inflight.set(piece, p)
    return p
  }

  async #write(piece: number, buf: Buffer): Promise<void> {
    if (this.#failed !== undefined) throw this.#failed
    try {
      await writeRange(this.#io, piece * this.pieceLength, buf)
    } catch (err) {
      // Byte counts may now include part of this piece: no more writes until a restart
      // (prepareInPlace again), which recounts from the recorded pieces.
      this.#failed = err
      throw err
    }
    setBit(this.#p.bits, piece)
    this.#written++
    this.#check?.written(piece, buf)
    this.#dirty = true
    this.#timer ??= setTimeout(() => {
      this.#timer = undefined
      this.flush().catch((e: Error) => this.#p.onWarning(`cannot save the resume state: ${e.message}`))
    }, this.#flushMs).unref()
  }

  /** Bytes [offset, offset + length) of a written piece, rebuilt from the files and the side file. */
  async readPiece(piece: number, offset = 0, length?: number): Promise<Buffer> {
    if (this.#state === 'cleaned') throw errors.inplaceClosed('cleaned up')
    const size = this.pieceSize(piece)
    const len = length ?? size - offset
    if (!Number.isInteger(offset) || !Number.isInteger(len) || offset < 0 || len < 0 || offset + len > size) {
      throw errors.inplacePieceRange(piece, `range ${offset}+${len} is outside the piece of ${size} bytes`)
    }
    if (!getBit(this.#p.bits, piece)) throw errors.inplaceNotWritten(piece)
    const start = piece * this.pieceLength + offset
    return this.#read(start, len)
  }

  #read(start: number, len: number): Promise<Buffer> {
    const frozen = this.#frozen
    return readRange(this.#io, start, len, frozen && ((i, piece) => openFrozen(frozen, this.#p, i, piece)))
  }

  /** Saves the resume state now (it is also saved at most `flushMs` after a write, and on close). */
  async flush(): Promise<void> {
    const run = async () => {
      if (!this.#dirty || this.#state === 'cleaned') return
      this.#dirty = false
      await writeState(this.#p.workDir, this.#p.header, new Uint8Array(this.#p.bits))
    }
    this.#flushing = this.#flushing.then(run, run)
    return this.#flushing
  }

  /**
   * Saves the resume state and closes every open file. Not an end: the
   * target can be used again (files reopen when needed), e.g. by a new store
   * for seeding after the download's torrent is gone. Idempotent.
   */
  async close(): Promise<void> {
    await Promise.allSettled(this.#inflight.values())
    this.#check?.cancel()
    clearTimeout(this.#timer)
    this.#timer = undefined
    await this.flush()
    await this.#closeFiles()
  }

  async #closeFiles(): Promise<void> {
    await this.#writers.closeAll()
    await this.#readers.closeAll()
    const side = this.#side
    this.#side = undefined
    await (await side?.catch(() => undefined))?.close()
  }

  /** Places links, symlinks, devices and fifos, then directory metadata. Every piece must be written. */
  async finalize(signal?: AbortSignal): Promise<void> {
    if (this.#state !== 'open') throw errors.inplaceClosed(this.#state === 'cleaned' ? 'cleaned up' : 'finalized')
    if (this.missing > 0) throw errors.inplaceIncomplete(this.missing, 'finalize the install')
    await this.flush()
    await this.#writers.closeAll()
    await finalizeTree(this.#p, signal)
    this.#state = 'finalized'
  }

  /** Records every installed file's inode, ctime and size: pieces touching a file that changes are refused. */
  async freeze(): Promise<void> {
    if (this.#state !== 'finalized')
      throw errors.inplaceClosed(this.#state === 'open' ? 'not finalized yet' : 'cleaned up')
    this.#frozen = await freezeFiles(this.#p)
    await this.#readers.closeAll()
  }

  /**
   * Starts checking the archive in order while pieces are written (and reads
   * back those already on disk): `done` gives the SHA-256 once the last piece
   * is in, so no read-back is needed after the download. Pieces written ahead
   * of the checked prefix are kept up to `budgetBytes`. One per target.
   */
  startCheck(budgetBytes = 16 << 20): StreamCheck {
    if (this.#check) throw errors.inplaceClosed('already being checked')
    this.#check = new StreamCheck(
      {
        pieceCount: this.pieceCount,
        hasPiece: (i) => getBit(this.#p.bits, i),
        readPiece: (i) => this.readPiece(i),
      },
      this.#p.table,
      budgetBytes,
    )
    return this.#check
  }

  /** The whole archive, rebuilt in order, in chunks of at most 1 MiB. */
  async *readArchive(): AsyncGenerator<Buffer> {
    if (this.missing > 0) throw errors.inplaceIncomplete(this.missing, 'read the archive back')
    for (let pos = 0; pos < this.archiveSize; pos += READ_CHUNK) {
      const len = Math.min(READ_CHUNK, this.archiveSize - pos)
      yield await this.#read(pos, len)
    }
  }

  /** Removes the work folder (side file, resume state) at the very end; the root keeps its times. */
  async cleanup(): Promise<void> {
    if (this.#state === 'cleaned') return
    await this.close()
    this.#state = 'cleaned'
    const root = this.#p.tree.root
    const st = await lstat(root)
    await rm(this.#p.workDir, { recursive: true, force: true })
    await utimes(root, st.atime, st.mtime)
  }
}

/** Checks the target and lays out the tree (or picks up an unfinished install of the same image). */
export async function prepareInPlace(init: InPlaceInit & InPlaceOptions): Promise<InPlaceTarget> {
  return new InPlaceTarget(await prepareTree(init), init)
}
