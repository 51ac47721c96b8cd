// The reader and lister on hostile bytes: random data and mutated or cut
// valid archives must end in a coded ImgswarmError (or a clean listing),
// never in a crash of another kind; extracting mutated archives must
// additionally never touch anything outside the target.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { listArchive } from '../../common/archive/index.ts'
import { isImgswarmError } from '../../common/errors.ts'
import type { ReadEntry } from '../../common/tar/reader.ts'
import { RUNS } from '../support/fuzz.ts'
import { CAP_NET_BIND_V2, chunks, extract, rawTar, sandbox, sparseEntry } from './helpers.ts'

const isRoot = process.getuid?.() === 0

/** A small archive touching every header feature: pax, long names, xattrs, sparse, links. */
function sample(): Buffer {
  return rawTar([
    { path: './', type: 'directory', mode: 0o755 },
    { path: './etc/', type: 'directory', mode: 0o755 },
    { path: './etc/hostname', data: Buffer.from('golden\n'), uid: 1234, gid: 5678 },
    { path: `./opt/${'long-'.repeat(30)}/f`, data: Buffer.from('long path\n') },
    {
      path: './usr/bin/ping',
      data: Buffer.from('ping'),
      mode: 0o4755,
      xattrs: new Map([
        ['security.capability', CAP_NET_BIND_V2],
        ['user.test', Buffer.from('t')],
      ]),
    },
    { path: './etc/abs', type: 'symlink', linkpath: Buffer.from('/usr/bin/ping') },
    { path: './etc/hard', type: 'link', linkpath: Buffer.from('./etc/hostname') },
    { path: './dev/null', type: 'char', devmajor: 1, devminor: 3, mode: 0o666 },
    { path: './dev/pipe', type: 'fifo' },
    sparseEntry('./var/disk', 1 << 20, [
      { offset: 0, data: Buffer.from('a') },
      { offset: 4096, data: Buffer.from('b') },
    ]),
    { path: './big-uid', data: Buffer.from('x'), uid: 2 ** 31, mtime: 2 ** 34 },
  ])
}

async function list(b: Buffer, chunk = 512): Promise<ReadEntry[]> {
  const out: ReadEntry[] = []
  for await (const e of listArchive(chunks(b, chunk))) out.push(e)
  return out
}

/** Runs `f`; a non-ImgswarmError is a test failure. */
async function onlyCoded(f: () => Promise<unknown>): Promise<void> {
  try {
    await f()
  } catch (e) {
    if (!isImgswarmError(e)) throw e
  }
}

const mutation = fc.record({
  edits: fc.array(fc.record({ pos: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }), {
    minLength: 1,
    maxLength: 8,
  }),
  cut: fc.option(fc.nat(), { nil: undefined }),
  chunk: fc.integer({ min: 1, max: 2000 }),
})

function mutate(base: Buffer, m: { edits: { pos: number; byte: number }[]; cut: number | undefined }): Buffer {
  const b = Buffer.from(base)
  for (const { pos, byte } of m.edits) b[pos % b.length] = byte
  return m.cut === undefined ? b : b.subarray(0, m.cut % (b.length + 1))
}

describe('reader and listArchive', () => {
  it('lists every entry of the sample with its fields', async () => {
    const entries = await list(sample(), 333)
    expect(entries.map((e) => `${e.type} ${e.path.toString()}`)).toEqual([
      'directory ./',
      'directory ./etc/',
      'file ./etc/hostname',
      `file ./opt/${'long-'.repeat(30)}/f`,
      'file ./usr/bin/ping',
      'symlink ./etc/abs',
      'link ./etc/hard',
      'char ./dev/null',
      'fifo ./dev/pipe',
      'file ./var/disk',
      'file ./big-uid',
    ])
    const ping = entries[4] as ReadEntry
    expect(ping.mode).toBe(0o4755)
    expect(ping.xattrs.get('security.capability')).toEqual(CAP_NET_BIND_V2)
    expect(entries[9]?.sparse).toEqual({
      realsize: 1 << 20,
      map: [
        { offset: 0, size: 1 },
        { offset: 4096, size: 1 },
      ],
    })
    expect([entries[10]?.uid, entries[10]?.mtime]).toEqual([2 ** 31, 2 ** 34])
  })

  it('old GNU headers: the atime/ctime in the prefix area do not become part of the path', async () => {
    const b = Buffer.from(rawTar([{ path: 'src/f', data: Buffer.from('x') }]))
    b.write('ustar  \0', 257, 'latin1')
    b.write('15300463636\0', 345, 'latin1') // atime, as `tar --format=gnu -G` writes it
    b.fill(0x20, 148, 156)
    let sum = 0
    for (const x of b.subarray(0, 512)) sum += x
    b.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1')
    expect((await list(b)).map((e) => e.path.toString())).toEqual(['src/f'])
  })

  it('every truncation of a valid archive is a coded error', async () => {
    const tar = sample()
    for (let cut = 0; cut < tar.length - 1024; cut += 97) {
      await expect(list(tar.subarray(0, cut))).rejects.toMatchObject({ code: expect.stringMatching(/^IMGSWARM_ERR_/) })
    }
  })

  it('random bytes never crash with anything but an ImgswarmError', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 4096 }), fc.integer({ min: 1, max: 1024 }), async (bytes, chunk) => {
        await onlyCoded(() => list(Buffer.from(bytes), chunk))
      }),
      { numRuns: RUNS },
    )
  })

  it('random bytes that pass the header checksum never crash either', async () => {
    // Random blocks almost never have a valid checksum; fix it so the field parsers see them.
    const block = fc.uint8Array({ minLength: 512, maxLength: 512 }).map((a) => {
      const b = Buffer.from(a)
      b.fill(0x20, 148, 156)
      let sum = 0
      for (const x of b) sum += x
      b.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1')
      return b
    })
    await fc.assert(
      fc.asyncProperty(fc.array(block, { minLength: 1, maxLength: 4 }), async (blocks) => {
        await onlyCoded(() => list(Buffer.concat([...blocks, Buffer.alloc(1024)])))
      }),
      { numRuns: RUNS },
    )
  })

  it('mutated valid archives never crash the reader', async () => {
    const base = sample()
    await fc.assert(
      fc.asyncProperty(mutation, async (m) => {
        await onlyCoded(() => list(mutate(base, m), m.chunk))
      }),
      { numRuns: RUNS },
    )
  })

  it.runIf(isRoot)('mutated valid archives never crash the extractor nor write outside', async () => {
    const base = sample()
    await fc.assert(
      fc.asyncProperty(mutation, async (m) => {
        const sb = await sandbox()
        await onlyCoded(() => extract(mutate(base, m), sb.target))
        await sb.assertUntouched()
      }),
      { numRuns: Math.max(20, Math.floor(RUNS / 4)) },
    )
  })
})
