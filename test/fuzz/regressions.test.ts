// Inputs the fuzz campaigns found, kept as examples (docs/fuzz.md lists them).
import { describe, expect, it } from 'vitest'
import { listArchive } from '../../common/archive/index.ts'
import type { ReadEntry } from '../../common/tar/reader.ts'
import { chunks, rawTar } from '../archive/helpers.ts'

/** A bare ustar header block of type `flag` and data size `size`, with its checksum. */
function header(name: string, flag: string, size: number): Buffer {
  const b = Buffer.alloc(512)
  b.write(name, 0, 'latin1')
  b.write('0000644\0', 100, 'latin1')
  b.write('0000000\0', 108, 'latin1')
  b.write('0000000\0', 116, 'latin1')
  b.write(`${size.toString(8).padStart(11, '0')}\0`, 124, 'latin1')
  b.write('00000000000\0', 136, 'latin1')
  b.write(flag, 156, 'latin1')
  b.write('ustar\x0000', 257, 'latin1')
  b.fill(0x20, 148, 156)
  let sum = 0
  for (const x of b) sum += x
  b.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1')
  return b
}

async function list(b: Buffer, chunk: number): Promise<ReadEntry[]> {
  const out: ReadEntry[] = []
  for await (const e of listArchive(chunks(b, chunk))) out.push(e)
  return out
}

describe('fuzz regressions', () => {
  // Found by test/fuzz/tar (2026-12-02): ByteSource.read(0) with nothing buffered
  // read chunks[0] of an empty list: a TypeError instead of an entry or a coded error.
  // (An empty GNU long name is a name of its own: '', which the extractor refuses.)
  it.each([
    ['pax', 'x', './f'],
    ['GNU long name', 'L', ''],
  ])('an empty %s header on a chunk boundary is read, not a TypeError', async (_name, flag, path) => {
    const b = Buffer.concat([header('./PaxHeaders/f', flag, 0), rawTar([{ path: './f', data: Buffer.from('x') }])])
    for (const chunk of [512, 1, 7, 4096]) {
      const got: ReadEntry[] | Error = await list(b, chunk).catch((e: Error) => e)
      if (got instanceof Error) expect(got).toMatchObject({ code: expect.stringMatching(/^IMGSWARM_ERR_/) })
      else expect(got.map((e) => e.path.toString())).toEqual([path])
    }
  })
})
