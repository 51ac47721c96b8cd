// Opens an archive as a stream of tar bytes, decompressing zstd when the data
// starts with a zstd frame. Detection is by content, not by file name: a
// renamed file still extracts, and a .tar.zst that is not zstd is refused by
// the tar reader instead of being half-decoded.
import { createReadStream } from 'node:fs'
import { pipeline, Readable } from 'node:stream'
import { createZstdDecompress } from 'node:zlib'
import { ZSTD_MAGIC } from '../constants.ts'
import { errors, isImgswarmError } from '../errors.ts'

export type ArchiveSource = string | AsyncIterable<Buffer | Uint8Array> | Iterable<Buffer | Uint8Array>

export interface OpenOptions {
  signal?: AbortSignal
  /** Called with the running total of (compressed) bytes read from the source. */
  onCompressedBytes?: (total: number) => void
}

const CHUNK = 1 << 20

function toBuffer(c: Buffer | Uint8Array | string): Buffer {
  if (Buffer.isBuffer(c)) return c
  if (typeof c === 'string') return Buffer.from(c)
  return Buffer.from(c.buffer, c.byteOffset, c.byteLength)
}

/**
 * The tar bytes of an archive: `file` is a path, or any stream / (async)
 * iterable of bytes (a Node Readable is one). zstd is detected by its magic.
 */
export function openArchive(file: ArchiveSource, opts: OpenOptions | AbortSignal = {}): AsyncIterable<Buffer> {
  const o: OpenOptions = opts instanceof AbortSignal ? { signal: opts } : opts
  return { [Symbol.asyncIterator]: () => bytes(file, o) }
}

async function* bytes(file: ArchiveSource, o: OpenOptions): AsyncGenerator<Buffer> {
  const raw: AsyncIterable<Buffer | Uint8Array | string> | Iterable<Buffer | Uint8Array> =
    typeof file === 'string' ? createReadStream(file, { highWaterMark: CHUNK }) : file
  const it: AsyncIterator<Buffer | Uint8Array | string> | Iterator<Buffer | Uint8Array> =
    Symbol.asyncIterator in raw ? raw[Symbol.asyncIterator]() : raw[Symbol.iterator]()
  let total = 0
  const pull = async (): Promise<Buffer | undefined> => {
    o.signal?.throwIfAborted()
    const r = await it.next()
    if (r.done) return undefined
    const b = toBuffer(r.value)
    total += b.length
    o.onCompressedBytes?.(total)
    return b
  }
  try {
    // Gather enough bytes to see the magic; chunks can be tiny.
    const head: Buffer[] = []
    let have = 0
    while (have < ZSTD_MAGIC.length) {
      const b = await pull()
      if (b === undefined) break
      head.push(b)
      have += b.length
    }
    const first = Buffer.concat(head)
    if (!(first.length >= ZSTD_MAGIC.length && first.subarray(0, ZSTD_MAGIC.length).equals(ZSTD_MAGIC))) {
      if (first.length > 0) yield first
      for (let b = await pull(); b !== undefined; b = await pull()) yield b
      return
    }
    const compressed = async function* () {
      yield first
      for (let b = await pull(); b !== undefined; b = await pull()) yield b
    }
    // zstd's default window limit (128 MiB, ZSTD_WINDOWLOG_LIMIT_DEFAULT)
    // bounds memory against frames that declare a huge window.
    const z = createZstdDecompress({ chunkSize: CHUNK })
    pipeline(Readable.from(compressed(), { objectMode: false }), z, () => undefined)
    try {
      for await (const c of z) {
        o.signal?.throwIfAborted()
        yield c as Buffer
      }
    } catch (e) {
      if (isImgswarmError(e) || (o.signal?.aborted && e === o.signal.reason)) throw e
      throw errors.archiveCorrupt(total, `zstd: ${(e as Error).message}`)
    } finally {
      z.destroy()
    }
  } finally {
    await it.return?.()
  }
}
