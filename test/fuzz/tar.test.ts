// Tar entries: valid archives (our encoder and tar-stream) with mutated
// header fields (checksum recomputed, so the mutation reaches the field
// parsers), byte flips, inserted blocks and cuts, read by our reader
// (listArchive) and by the archive indexer (buildIndex). Only IMGSWARM_ERR_*
// refusals, never another error or a hang.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { listArchive } from '../../common/archive/index.ts'
import { buildIndex } from '../../common/tarindex/index.ts'
import { CAP_NET_BIND_V2, chunks, rawTar, sparseEntry, tarStream } from '../archive/helpers.ts'
import { CLEAN, campaign, failures, parserVerdict } from './harness.ts'

async function bases(): Promise<Buffer[]> {
  const ours = rawTar([
    { path: './', type: 'directory', mode: 0o755 },
    { path: './etc/hostname', data: Buffer.from('golden\n'), uid: 1234 },
    { path: `./opt/${'long-'.repeat(30)}/f`, data: Buffer.from('long path\n') },
    {
      path: './bin/ping',
      data: Buffer.from('p'),
      mode: 0o4755,
      xattrs: new Map([['security.capability', CAP_NET_BIND_V2]]),
    },
    { path: './etc/abs', type: 'symlink', linkpath: Buffer.from('/bin/ping') },
    { path: './etc/hard', type: 'link', linkpath: Buffer.from('./etc/hostname') },
    { path: './dev/null', type: 'char', devmajor: 1, devminor: 3 },
    sparseEntry('./var/disk', 1 << 20, [
      { offset: 0, data: Buffer.from('a') },
      { offset: 4096, data: Buffer.from('b') },
    ]),
  ])
  const theirs = await tarStream([
    { name: 'dir', type: 'directory' },
    { name: 'dir/file.txt', data: Buffer.from('hello world\n') },
    { name: `dir/${'x'.repeat(120)}`, data: Buffer.from('gnu or pax long name') },
    { name: 'dir/link', type: 'symlink', linkname: 'file.txt' },
  ])
  return [ours, theirs]
}

/** ustar header fields: [offset, length] (POSIX.1-1988 ustar). */
const FIELDS: [number, number][] = [
  [0, 100], // name
  [100, 8], // mode
  [108, 8], // uid
  [116, 8], // gid
  [124, 12], // size
  [136, 12], // mtime
  [156, 1], // typeflag
  [157, 100], // linkname
  [257, 8], // magic + version
  [329, 8], // devmajor
  [337, 8], // devminor
  [345, 155], // prefix
]
const FIELD_VALUES = [
  '',
  '0',
  '7777777',
  '77777777777',
  '99999999999',
  '-1',
  ' ',
  '\0',
  'x',
  '../../etc/passwd',
  '/abs',
  '0000000000\0',
  '\x80\0\0\0\0\0\0\xff',
  '\xff\xff\xff\xff\xff\xff\xff\xff',
  'L',
  'K',
  'x',
  'g',
  'S',
  '7',
  'D',
  'V',
  'ustar\0' + '00',
  'ustar  \0',
  '1',
  '2',
  '5',
  '6',
].map((s) => Buffer.from(s, 'latin1'))

function fixChecksum(b: Buffer, at: number): void {
  if (at + 512 > b.length) return
  b.fill(0x20, at + 148, at + 156)
  let sum = 0
  for (let i = at; i < at + 512; i++) sum += b[i] as number
  b.write(`${sum.toString(8).padStart(6, '0')}\0 `, at + 148, 'latin1')
}

const fieldEdit = fc.record({
  block: fc.nat(),
  field: fc.nat({ max: FIELDS.length - 1 }),
  value: fc.oneof(
    fc.constantFrom(...FIELD_VALUES),
    fc.uint8Array({ maxLength: 12 }).map((a) => Buffer.from(a)),
  ),
  fix: fc.boolean(),
})
const byteEdit = fc.record({ pos: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) })
/** Mostly nothing: most inputs carry one or two changes, so some still parse. */
const rarely = <T>(a: fc.Arbitrary<T>, none: T) =>
  fc.oneof({ arbitrary: fc.constant(none), weight: 3 }, { arbitrary: a, weight: 1 })
const input = fc.record({
  base: fc.nat({ max: 1 }),
  fields: fc.array(fieldEdit, { maxLength: 3 }),
  bytes: rarely(fc.array(byteEdit, { minLength: 1, maxLength: 4 }), []),
  insert: rarely(
    fc.record({ at: fc.nat(), block: fc.uint8Array({ minLength: 512, maxLength: 512 }) }),
    undefined as { at: number; block: Uint8Array } | undefined,
  ),
  cut: rarely(fc.nat(), undefined as number | undefined),
  chunk: fc.integer({ min: 1, max: 3000 }),
})

type Input = typeof input extends fc.Arbitrary<infer T> ? T : never

function mutate(base: Buffer, m: Input): Buffer {
  let b = Buffer.from(base)
  const blocks = b.length / 512
  for (const f of m.fields) {
    const at = (f.block % blocks) * 512
    const [off, len] = FIELDS[f.field] as [number, number]
    b.fill(0, at + off, at + off + len)
    f.value.copy(b, at + off, 0, Math.min(len, f.value.length))
    if (f.fix) fixChecksum(b, at)
  }
  for (const { pos, byte } of m.bytes) b[pos % b.length] = byte
  if (m.insert) {
    const at = (m.insert.at % blocks) * 512
    b = Buffer.concat([b.subarray(0, at), Buffer.from(m.insert.block), b.subarray(at)])
  }
  return m.cut === undefined ? b : b.subarray(0, m.cut % (b.length + 1))
}

describe('fuzz: tar entries', () => {
  it('mutated archives through listArchive and buildIndex: coded refusals only', async () => {
    const base = await bases()
    const r = await campaign('tar', input, async (m) => {
      const b = mutate(base[m.base] as Buffer, m)
      const listed = await parserVerdict(async () => {
        for await (const e of listArchive(chunks(b, m.chunk))) void e
      })
      if (listed !== 'accepted' && listed !== 'refused') return `listArchive: ${listed}`
      const indexed = await parserVerdict(() => buildIndex(chunks(b, m.chunk)))
      if (indexed !== 'accepted' && indexed !== 'refused') return `buildIndex: ${indexed}`
      return listed
    })
    expect(failures(r)).toEqual(CLEAN)
    expect(r.refused).toBeGreaterThan(0)
    expect(r.accepted).toBeGreaterThan(0)
  })
})
