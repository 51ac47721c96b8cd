// The engine's default chunk store (abstract-chunk-store) for single-file
// torrents, which every imgswarm archive is: positional reads and writes on
// one file descriptor. fs-chunk-store, webtorrent's default, goes through
// random-access-file and copies every piece it reads into a fresh zero-filled
// array (uint8-util concat) even when the piece lies in one file; a seeder
// reads each piece it serves, so that copy is paid on every upload.
// Multi-file torrents fall back to fs-chunk-store.
import { close, constants, mkdir, open, read, unlink, write } from 'node:fs'
import { dirname, join } from 'node:path'

type Cb<T = void> = (err: Error | null, v?: T) => void

interface StoreOpts {
  path?: string
  files?: { path: string; length: number }[]
  length?: number
}

export class FileStore {
  readonly chunkLength: number
  readonly #file: string
  readonly #length: number
  #fd: Promise<number> | undefined
  #closed = false

  constructor(chunkLength: number, opts: StoreOpts) {
    const f = opts.files?.[0]
    if (!f || opts.files?.length !== 1 || !opts.path) throw new Error('FileStore holds exactly one file')
    this.chunkLength = chunkLength
    this.#file = join(opts.path, f.path)
    this.#length = opts.length ?? f.length
  }

  static fits(opts: StoreOpts): boolean {
    return opts.files?.length === 1 && typeof opts.path === 'string'
  }

  #open(): Promise<number> {
    this.#fd ??= new Promise<number>((resolve, reject) => {
      mkdir(dirname(this.#file), { recursive: true }, (err) => {
        if (err) return reject(err)
        // Read-write without truncating: the file may hold a resumed download.
        open(this.#file, constants.O_RDWR | constants.O_CREAT, 0o644, (e, fd) => {
          if (!e) return resolve(fd)
          // A read-only archive can still be seeded.
          if (e.code === 'EACCES' || e.code === 'EROFS') {
            return open(this.#file, 'r', (e2, fd2) => (e2 ? reject(e2) : resolve(fd2)))
          }
          reject(e)
        })
      })
    })
    return this.#fd
  }

  #pieceLength(index: number): number {
    return Math.max(0, Math.min(this.chunkLength, this.#length - index * this.chunkLength))
  }

  put(index: number, buf: Uint8Array, cb: Cb = () => undefined): void {
    if (this.#closed) {
      queueMicrotask(() => cb(new Error('Storage is closed')))
      return
    }
    if (buf.length !== this.#pieceLength(index)) {
      const want = this.#pieceLength(index)
      queueMicrotask(() => cb(new Error(`piece ${index}: ${buf.length} bytes, expected ${want}`)))
      return
    }
    const pos = index * this.chunkLength
    this.#open().then((fd) => {
      let done = 0
      const more = () =>
        write(fd, buf, done, buf.length - done, pos + done, (err, n) => {
          if (err) return cb(err)
          done += n
          if (done < buf.length) more()
          else cb(null)
        })
      more()
    }, cb)
  }

  get(index: number, opts: { offset?: number; length?: number } | null | Cb<Buffer>, cb?: Cb<Buffer>): void {
    if (typeof opts === 'function') {
      this.get(index, null, opts)
      return
    }
    const done = cb ?? (() => undefined)
    if (this.#closed) {
      queueMicrotask(() => done(new Error('Storage is closed')))
      return
    }
    const plen = this.#pieceLength(index)
    const offset = opts?.offset ?? 0
    const len = opts?.length ?? plen - offset
    if (offset < 0 || len < 0 || offset + len > plen) {
      queueMicrotask(() => done(new Error('Invalid offset and/or length')))
      return
    }
    const out = Buffer.allocUnsafe(len)
    const pos = index * this.chunkLength + offset
    this.#open().then((fd) => {
      let got = 0
      const more = () =>
        read(fd, out, got, len - got, pos + got, (err, n) => {
          if (err) return done(err)
          if (n === 0 && got < len) return done(new Error(`piece ${index} is not stored`))
          got += n
          if (got < len) more()
          else done(null, out)
        })
      if (len === 0) done(null, out)
      else more()
    }, done)
  }

  close(cb: Cb = () => undefined): void {
    if (this.#closed) {
      queueMicrotask(() => cb(null))
      return
    }
    this.#closed = true
    const fd = this.#fd
    if (!fd) {
      queueMicrotask(() => cb(null))
      return
    }
    fd.then(
      (n) => close(n, (e) => cb(e)),
      () => cb(null),
    )
  }

  destroy(cb: Cb = () => undefined): void {
    this.close(() => unlink(this.#file, (e) => cb(e && e.code !== 'ENOENT' ? e : null)))
  }
}
