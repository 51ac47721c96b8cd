// Bencoding (BEP 3). Dictionary keys are sorted by their raw bytes, which
// makes the encoding canonical: the same torrent always gives the same bytes.

export type BValue = number | bigint | string | Buffer | BValue[] | { [key: string]: BValue | undefined }

export function bencode(v: BValue): Buffer {
  const parts: Buffer[] = []
  enc(v, parts)
  return Buffer.concat(parts)
}

function enc(v: BValue, out: Buffer[]): void {
  if (typeof v === 'number' || typeof v === 'bigint') {
    if (typeof v === 'number' && !Number.isSafeInteger(v)) throw new TypeError(`bencode: ${v} is not an integer`)
    out.push(Buffer.from(`i${v}e`))
  } else if (typeof v === 'string' || Buffer.isBuffer(v)) {
    const b = typeof v === 'string' ? Buffer.from(v, 'utf8') : v
    out.push(Buffer.from(`${b.length}:`), b)
  } else if (Array.isArray(v)) {
    out.push(Buffer.from('l'))
    for (const x of v) enc(x, out)
    out.push(Buffer.from('e'))
  } else {
    out.push(Buffer.from('d'))
    const keys = Object.keys(v)
      .filter((k) => v[k] !== undefined)
      .map((k) => [Buffer.from(k, 'utf8'), k] as const)
      .sort((a, b) => Buffer.compare(a[0], b[0]))
    for (const [kb, k] of keys) {
      out.push(Buffer.from(`${kb.length}:`), kb)
      enc(v[k] as BValue, out)
    }
    out.push(Buffer.from('e'))
  }
}

export type BDecoded = number | Buffer | BDecoded[] | Map<string, BDecoded>

export interface DecodeResult {
  value: BDecoded
  /** Byte ranges of the top-level dictionary's values, by key (for info-hash computation). */
  spans: Map<string, [number, number]>
}

/** Strict bdecoder for untrusted input: bounded depth, canonical integers, no trailing bytes. */
export function bdecode(buf: Buffer, maxDepth = 32): DecodeResult {
  const spans = new Map<string, [number, number]>()
  let pos = 0
  const fail = (why: string): never => {
    throw new Error(`invalid bencoding at byte ${pos}: ${why}`)
  }
  const str = (): Buffer => {
    const colon = buf.indexOf(0x3a, pos)
    if (colon < 0 || colon - pos > 10) fail('bad string length')
    const lenText = buf.toString('latin1', pos, colon)
    if (!/^(0|[1-9][0-9]*)$/.test(lenText)) fail('bad string length')
    const len = Number(lenText)
    const start = colon + 1
    if (start + len > buf.length) fail('string runs past the end')
    pos = start + len
    return buf.subarray(start, start + len)
  }
  const val = (depth: number): BDecoded => {
    if (depth > maxDepth) fail('nested too deeply')
    const c = buf[pos]
    if (c === undefined) return fail('unexpected end')
    if (c === 0x69) {
      const end = buf.indexOf(0x65, pos)
      if (end < 0) fail('unterminated integer')
      const t = buf.toString('latin1', pos + 1, end)
      if (!/^(0|-?[1-9][0-9]{0,15})$/.test(t)) fail('bad integer')
      pos = end + 1
      const n = Number(t)
      if (!Number.isSafeInteger(n)) fail('integer out of range')
      return n
    }
    if (c === 0x6c) {
      pos++
      const list: BDecoded[] = []
      while (buf[pos] !== 0x65) list.push(val(depth + 1))
      pos++
      return list
    }
    if (c === 0x64) {
      pos++
      const map = new Map<string, BDecoded>()
      let prev: Buffer | undefined
      while (buf[pos] !== 0x65) {
        if (pos >= buf.length) fail('unterminated dictionary')
        const k = str()
        if (prev && Buffer.compare(prev, k) >= 0) fail('dictionary keys not sorted')
        prev = k
        const start = pos
        map.set(k.toString('utf8'), val(depth + 1))
        if (depth === 0) spans.set(k.toString('utf8'), [start, pos])
      }
      pos++
      return map
    }
    if (c >= 0x30 && c <= 0x39) return str()
    return fail(`unexpected byte 0x${c.toString(16)}`)
  }
  const value = val(0)
  if (pos !== buf.length) fail('trailing bytes')
  return { value, spans }
}
