// Header encoding round-trips through our reader for any entry, including
// the fields that need pax (long paths, big ids, binary xattrs).
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { END_OF_ARCHIVE, encodeHeader, paddingFor, type TarEntry } from '../../common/tar/header.ts'
import { TarReader } from '../../common/tar/reader.ts'
import { RUNS } from '../support/fuzz.ts'

const component = fc
  .uint8Array({ minLength: 1, maxLength: 40 })
  .map((a) => Buffer.from(a.map((b) => (b === 0 || b === 0x2f ? 0x61 : b))))

const entry: fc.Arbitrary<TarEntry> = fc
  .record({
    parts: fc.array(component, { minLength: 1, maxLength: 8 }),
    type: fc.constantFrom('file', 'directory', 'symlink', 'char', 'fifo', 'link'),
    mode: fc.integer({ min: 0, max: 0o7777 }),
    uid: fc.oneof(fc.integer({ min: 0, max: 65535 }), fc.integer({ min: 0, max: 2 ** 32 - 1 })),
    gid: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
    size: fc.integer({ min: 0, max: 3000 }),
    mtime: fc.integer({ min: 0, max: 2 ** 33 }),
    link: fc.uint8Array({ minLength: 1, maxLength: 300 }).map((a) => Buffer.from(a.map((b) => (b === 0 ? 0x62 : b)))),
    dev: fc.tuple(fc.integer({ min: 0, max: 4095 }), fc.integer({ min: 0, max: 1 << 20 })),
    xattrs: fc.dictionary(
      fc.constantFrom('security.capability', 'user.a', 'trusted.b'),
      fc.uint8Array({ maxLength: 64 }),
    ),
  })
  .map((r) => {
    const isDir = r.type === 'directory'
    const path = Buffer.concat([
      Buffer.from('./'),
      Buffer.concat(r.parts.flatMap((p, i) => (i === 0 ? [p] : [Buffer.from('/'), p]))),
      Buffer.from(isDir ? '/' : ''),
    ])
    return {
      path,
      type: r.type as TarEntry['type'],
      mode: r.mode,
      uid: r.uid,
      gid: r.gid,
      size: r.type === 'file' ? r.size : 0,
      mtime: r.mtime,
      linkpath: r.type === 'symlink' || r.type === 'link' ? r.link : Buffer.alloc(0),
      devmajor: r.type === 'char' ? r.dev[0] : 0,
      devminor: r.type === 'char' ? r.dev[1] : 0,
      xattrs: new Map(Object.entries(r.xattrs).map(([k, v]) => [k, Buffer.from(v)])),
    }
  })

async function readAll(buf: Buffer) {
  const r = new TarReader(
    (async function* () {
      // Odd chunk sizes exercise the reader's buffering.
      for (let i = 0; i < buf.length; i += 777) yield buf.subarray(i, i + 777)
    })(),
  )
  const out = []
  for (;;) {
    const e = await r.next()
    if (!e) break
    const chunks = []
    for await (const c of r.data()) chunks.push(Buffer.from(c))
    out.push({ e, data: Buffer.concat(chunks) })
  }
  return out
}

describe('tar header codec', () => {
  it('round-trips arbitrary entries (paths as raw bytes, big ids, binary xattrs)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(entry, { minLength: 1, maxLength: 5 }), async (entries) => {
        const parts: Buffer[] = []
        const datas: Buffer[] = []
        for (const e of entries) {
          const data = Buffer.alloc(e.size, e.size % 251)
          datas.push(data)
          parts.push(encodeHeader(e), data, Buffer.alloc(paddingFor(e.size)))
        }
        parts.push(END_OF_ARCHIVE)
        const back = await readAll(Buffer.concat(parts))
        expect(back).toHaveLength(entries.length)
        back.forEach(({ e, data }, i) => {
          const want = entries[i] as TarEntry
          expect({ ...e, headerOffset: 0, dataOffset: 0 }).toEqual({ ...want, headerOffset: 0, dataOffset: 0 })
          expect(data.equals(datas[i] as Buffer)).toBe(true)
        })
      }),
      { numRuns: RUNS },
    )
  })

  it('is deterministic: the same entry gives the same bytes', () => {
    fc.assert(
      fc.property(entry, (e) => {
        expect(encodeHeader(e).equals(encodeHeader({ ...e, xattrs: new Map([...e.xattrs].reverse()) }))).toBe(true)
      }),
      { numRuns: RUNS },
    )
  })
})
