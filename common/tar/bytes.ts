// A pull-style byte reader over an async stream of chunks: exact reads for
// headers, zero-copy slices for file data.

export class ByteSource {
  readonly #it: AsyncIterator<Buffer>
  #chunks: Buffer[] = []
  #buffered = 0
  #done = false
  /** Bytes consumed so far: the archive offset of the next byte. */
  offset = 0

  constructor(source: AsyncIterable<Buffer | Uint8Array>) {
    const it = source[Symbol.asyncIterator]()
    this.#it = {
      next: async () => {
        const r = await it.next()
        if (r.done) return r
        const v = r.value
        return { done: false, value: Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength) }
      },
      return: async () => {
        await it.return?.()
        return { done: true, value: undefined }
      },
    }
  }

  /** Ensures n bytes are buffered; returns false at end of stream with fewer. */
  async #fill(n: number): Promise<boolean> {
    while (this.#buffered < n && !this.#done) {
      const r = await this.#it.next()
      if (r.done) {
        this.#done = true
        break
      }
      if (r.value.length === 0) continue
      this.#chunks.push(r.value)
      this.#buffered += r.value.length
    }
    return this.#buffered >= n
  }

  /** Exactly n bytes, or undefined if the stream ends first (nothing consumed then). */
  async read(n: number): Promise<Buffer | undefined> {
    // An empty extended header asks for 0 bytes, maybe with nothing buffered (found by test/fuzz/tar).
    if (n === 0) return Buffer.alloc(0)
    if (!(await this.#fill(n))) return undefined
    const first = this.#chunks[0] as Buffer
    let out: Buffer
    if (first.length >= n) {
      out = first.subarray(0, n)
      if (first.length === n) this.#chunks.shift()
      else this.#chunks[0] = first.subarray(n)
    } else {
      out = Buffer.allocUnsafe(n)
      let pos = 0
      while (pos < n) {
        const c = this.#chunks[0] as Buffer
        const take = Math.min(c.length, n - pos)
        c.copy(out, pos, 0, take)
        pos += take
        if (take === c.length) this.#chunks.shift()
        else this.#chunks[0] = c.subarray(take)
      }
    }
    this.#buffered -= n
    this.offset += n
    return out
  }

  /** Up to max bytes (at least 1), zero-copy; undefined at end of stream. */
  async readSome(max: number): Promise<Buffer | undefined> {
    if (!(await this.#fill(1))) return undefined
    const first = this.#chunks[0] as Buffer
    const take = Math.min(first.length, max)
    const out = first.subarray(0, take)
    if (take === first.length) this.#chunks.shift()
    else this.#chunks[0] = first.subarray(take)
    this.#buffered -= take
    this.offset += take
    return out
  }

  /** True if only zero bytes (or nothing) remain. Reads to the end. */
  async restIsZero(): Promise<boolean> {
    for (;;) {
      const b = await this.readSome(1 << 20)
      if (b === undefined) return true
      for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false
    }
  }

  async close(): Promise<void> {
    this.#done = true
    this.#chunks = []
    await this.#it.return?.()
  }
}
