// Seeded, reproducible randomness for the generated tree: a small PRNG for
// shapes (sizes, names, where a file goes) and an AES-CTR keystream for file
// bytes (fast: the CPU does AES in hardware). Same seed, same tree, byte for
// byte, so runs on different days compare.
import { type Cipheriv, createCipheriv, createHash } from 'node:crypto'

/** sfc32 (PractRand's small fast counter): shapes only, never bytes. */
export class Rng {
  #a: number
  #b: number
  #c: number
  #d: number

  constructor(seed: string) {
    const h = createHash('sha256').update(`shape:${seed}`).digest()
    this.#a = h.readUInt32LE(0)
    this.#b = h.readUInt32LE(4)
    this.#c = h.readUInt32LE(8)
    this.#d = h.readUInt32LE(12)
    for (let i = 0; i < 16; i++) this.next()
  }

  next(): number {
    const t = (((this.#a + this.#b) | 0) + this.#d) | 0
    this.#d = (this.#d + 1) | 0
    this.#a = this.#b ^ (this.#b >>> 9)
    this.#b = (this.#c + (this.#c << 3)) | 0
    this.#c = (this.#c << 21) | (this.#c >>> 11)
    this.#c = (this.#c + t) | 0
    return t >>> 0
  }

  /** Uniform in [0, 1). */
  float(): number {
    return this.next() / 2 ** 32
  }

  /** Uniform integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.float() * (hi - lo + 1))
  }

  /** Log-uniform integer in [lo, hi]: many small values, few large ones, like real trees. */
  logUniform(lo: number, hi: number): number {
    return Math.floor(Math.exp(Math.log(lo) + this.float() * (Math.log(hi) - Math.log(lo))))
  }
}

const CHUNK = 4 << 20

/** Reproducible pseudo-random bytes: AES-128-CTR over zeros. */
export class ByteStream {
  readonly #cipher: Cipheriv
  readonly #zeros = Buffer.alloc(CHUNK)

  constructor(seed: string) {
    const h = createHash('sha256').update(`bytes:${seed}`).digest()
    this.#cipher = createCipheriv('aes-128-ctr', h.subarray(0, 16), h.subarray(16, 32))
  }

  /** Fills `out` with keystream bytes. */
  fill(out: Buffer): void {
    for (let pos = 0; pos < out.length; pos += CHUNK) {
      const n = Math.min(CHUNK, out.length - pos)
      this.#cipher.update(this.#zeros.subarray(0, n)).copy(out, pos)
    }
  }
}

const PHRASES = 1 << 16

/**
 * Text-like bytes: lines built from a table of 65,536 phrases of a made-up
 * vocabulary. zstd finds repeats in it (roughly 3-4x at level 3), as it does
 * in logs, docs and config files; it is not a long repeat that would
 * compress absurdly well.
 */
export class TextSource {
  readonly #table: Buffer
  readonly #offsets: Uint32Array
  readonly #bytes: ByteStream
  readonly #picks = Buffer.alloc(1 << 14)

  constructor(seed: string, bytes: ByteStream) {
    const rng = new Rng(`text:${seed}`)
    const letters = 'etaoinshrdlucmfwypvbgkjqxz'
    const vocab: string[] = []
    for (let i = 0; i < 4096; i++) {
      let w = ''
      const len = rng.logUniform(2, 13)
      for (let j = 0; j < len; j++) w += letters[Math.floor(rng.float() ** 2 * letters.length)]
      vocab.push(w)
    }
    const parts: string[] = []
    const offsets = new Uint32Array(PHRASES + 1)
    let total = 0
    for (let i = 0; i < PHRASES; i++) {
      const words = rng.int(3, 9)
      let p = ''
      for (let j = 0; j < words; j++) p += `${vocab[Math.floor(rng.float() ** 3 * vocab.length)]} `
      if (rng.float() < 0.25) p = `${p.trimEnd()}\n`
      else if (rng.float() < 0.1) p = `${p.trimEnd()} = ${rng.int(0, 99999)}\n`
      parts.push(p)
      offsets[i] = total
      total += p.length
    }
    offsets[PHRASES] = total
    this.#table = Buffer.from(parts.join(''), 'latin1')
    this.#offsets = offsets
    this.#bytes = bytes
  }

  fill(out: Buffer): void {
    const picks = this.#picks
    let k = picks.length
    let pos = 0
    while (pos < out.length) {
      if (k + 2 > picks.length) {
        this.#bytes.fill(picks)
        k = 0
      }
      const i = picks.readUInt16LE(k)
      k += 2
      const start = this.#offsets[i] as number
      const end = Math.min(this.#offsets[i + 1] as number, start + out.length - pos)
      pos += this.#table.copy(out, pos, start, end)
    }
  }
}

export type ContentKind = 'text' | 'random' | 'mixed'

const BLOCK = 1 << 20

/** Fills a file's bytes. `mixed` alternates 1 MiB blocks of text and random data (60 / 40). */
export function fillContent(out: Buffer, kind: ContentKind, text: TextSource, bytes: ByteStream, rng: Rng): void {
  if (kind === 'text') text.fill(out)
  else if (kind === 'random') bytes.fill(out)
  else mixed(out, text, bytes, rng)
}

function mixed(out: Buffer, text: TextSource, bytes: ByteStream, rng: Rng): void {
  for (let pos = 0; pos < out.length; pos += BLOCK) {
    const block = out.subarray(pos, Math.min(out.length, pos + BLOCK))
    if (rng.float() < 0.6) text.fill(block)
    else bytes.fill(block)
  }
}
