// One test per rule of parseIndex: a hostile index is refused with
// IMGSWARM_ERR_INDEX_INVALID naming the entry and the field, never half read.
import { describe, expect, it } from 'vitest'
import { isImgswarmError } from '../../common/errors.ts'
import { encodeIndex, parseIndex } from '../../common/tarindex/index.ts'
import { ARCHIVE_SIZE, BASE, b64, baseIndex, E, lines, mutateEntry } from './fixtures.ts'

const opts = { archiveSize: ARCHIVE_SIZE, maxBytes: 1 << 20 }

function refusal(bytes: Buffer, o: Partial<Parameters<typeof parseIndex>[1]> = {}): string {
  try {
    parseIndex(bytes, { ...opts, ...o })
  } catch (e) {
    if (isImgswarmError(e, 'IMGSWARM_ERR_INDEX_INVALID')) return e.message
    throw e
  }
  throw new Error('accepted')
}

const edit = (f: (ls: string[]) => void) => {
  const ls = lines()
  f(ls)
  return Buffer.from(ls.join('\n'))
}

describe('parseIndex accepts the good index', () => {
  it('round-trips the base index', () => {
    const got = parseIndex(BASE, opts)
    expect(got).toEqual(baseIndex())
    expect(encodeIndex(got).equals(BASE)).toBe(true)
  })
})

describe('parseIndex refuses', () => {
  const cases: Array<[string, () => Buffer, RegExp, Partial<Parameters<typeof parseIndex>[1]>?]> = [
    // the file as a whole
    ['a bigger file than maxBytes', () => BASE, /index: size: .* exceeds the limit of 100/, { maxBytes: 100 }],
    ['another schema', () => edit((l) => (l[0] = (l[0] as string).replace('index@1', 'index@2'))), /header: schema/],
    [
      'another archive size',
      () => BASE,
      /header: archiveSize: is 10240, but the archive has 10752/,
      { archiveSize: 10752 },
    ],
    ['a missing tail', () => Buffer.from(lines().slice(0, -2).join('\n')), /line: the file ends without/],
    ['bytes after the tail', () => Buffer.concat([BASE, Buffer.from('x')]), /index: end: bytes after/],
    ['a trailing comma', () => edit((l) => (l[l.length - 3] += ',')), /entry 8: line: missing after a trailing comma/],
    ['a missing comma', () => edit((l) => (l[1] = (l[1] as string).slice(0, -1))), /entry 1: line: expected/],
    ['a line that is not JSON', () => edit((l) => (l[3] = '{"h":1024,')), /entry 2: line: not valid JSON/],
    ['too many entries', () => BASE, /entry 3: entries: more than 3 entries/, { maxEntries: 3 }],
    // fields
    ['an unknown field', () => mutateEntry(E.passwd, (o) => (o.zz = 1)), /entry 2: zz: unknown field/],
    ['a missing field', () => mutateEntry(E.passwd, (o) => delete o.u), /entry 2: u: missing/],
    ['an unknown type', () => mutateEntry(E.fifo, (o) => (o.t = 'socket')), /entry 7: t: must be one of/],
    [
      'a size beyond safe integers',
      () => mutateEntry(E.passwd, (o) => (o.s = 2 ** 53)),
      /entry 2: s: must be an integer/,
    ],
    ['a fractional mode', () => mutateEntry(E.passwd, (o) => (o.m = 0.5)), /entry 2: m: must be an integer/],
    ['mode bits beyond 07777', () => mutateEntry(E.passwd, (o) => (o.m = 0o10000)), /entry 2: m:/],
    ['uid -1', () => mutateEntry(E.passwd, (o) => (o.u = -1)), /entry 2: u:/],
    ['a size on a directory', () => mutateEntry(E.etc, (o) => (o.s = 5)), /entry 1: s: must be 0 for a directory/],
    [
      'base64 that is not base64',
      () => mutateEntry(E.passwd, (o) => (o.p = 'Li9ldGMvcGFzc3dk=')),
      /entry 2: p: must be base64/,
    ],
    [
      'base64 with unused bits set',
      () => mutateEntry(E.root, (o) => (o.p = 'Li9=')),
      /entry 0 .*: line: not in the canonical form/,
    ],
    ['a device number on a file', () => mutateEntry(E.passwd, (o) => (o.d = [1, 2])), /entry 2: d: not allowed/],
    ['a device without numbers', () => mutateEntry(E.dev, (o) => delete o.d), /entry 5: d: missing/],
    ['a link target on a file', () => mutateEntry(E.passwd, (o) => (o.l = b64('x'))), /entry 2: l: not allowed/],
    // order and extents
    [
      'an unaligned header offset',
      () => mutateEntry(E.fifo, (o) => (o.h = 5121)),
      /entry 7: h: must be a multiple of 512/,
    ],
    ['header offsets out of order', () => mutateEntry(E.fifo, (o) => (o.h = 2560)), /entry 7 .*: h: must be above/],
    ['a header offset past the archive', () => mutateEntry(E.fifo, (o) => (o.h = ARCHIVE_SIZE)), /entry 7: h:/],
    [
      'extents on a directory',
      () => mutateEntry(E.etc, (o) => (o.e = [[1024, 1, 0]])),
      /entry 1: e: only regular files/,
    ],
    ['an empty extent list', () => mutateEntry(E.passwd, (o) => (o.e = [])), /entry 2: e: must be a non-empty array/],
    [
      'an extent in its own header',
      () => mutateEntry(E.passwd, (o) => (o.e = [[1500, 100, 0]])),
      /entry 2: e\[0\]: starts inside the entry header/,
    ],
    [
      'an extent in the next entry',
      () =>
        mutateEntry(
          E.passwd,
          (o) =>
            (o.e = [
              [1536, 100, 0],
              [1636, 500, 0],
            ]),
        ),
      /entry 2: e\[1\]: overlaps/,
    ],
    [
      'an extent reaching the next header',
      () => mutateEntry(E.passwd, (o) => Object.assign(o, { s: 600, e: [[1536, 600, 0]] })),
      /entry 3 .*: h: lies inside the data/,
    ],
    [
      'an extent past the archive',
      () => mutateEntry(E.fifo, (o) => Object.assign(o, { t: 'file', s: 9000, e: [[5632, 9000, 0]] })),
      /entry 7: e\[0\]: ends at 14632, past/,
    ],
    [
      'overlapping extents',
      () =>
        mutateEntry(
          E.sparse,
          (o) =>
            (o.e = [
              [4608, 10, 0],
              [4610, 20, 500000],
            ]),
        ),
      /entry 6: e\[1\]: overlaps or precedes the extent before it in the archive/,
    ],
    [
      'extents out of file order',
      () =>
        mutateEntry(
          E.sparse,
          (o) =>
            (o.e = [
              [4608, 10, 500000],
              [4618, 20, 0],
            ]),
        ),
      /entry 6: e\[1\]: overlaps or precedes the extent before it in the file/,
    ],
    [
      'an extent past the file size',
      () => mutateEntry(E.passwd, (o) => (o.e = [[1536, 100, 1]])),
      /entry 2: e\[0\]: ends at file offset 101, past the file size 100/,
    ],
    ['a zero-length extent', () => mutateEntry(E.passwd, (o) => (o.e = [[1536, 0, 0]])), /entry 2: e\[0\]\[1\]:/],
    ['too many extents', () => BASE, /entry 6: e: more than 1 extents/, { maxExtents: 1 }],
    // paths
    ['a ../ path', () => mutateEntry(E.fifo, (o) => (o.p = b64('./../fifo'))), /entry 7 .*: p: .*'\.\.'/],
    ['an absolute path', () => mutateEntry(E.fifo, (o) => (o.p = b64('/fifo'))), /entry 7 .*: p: .*absolute path/],
    ['a NUL in a path', () => mutateEntry(E.fifo, (o) => (o.p = b64('./fi\0fo'))), /entry 7 .*: p: .*NUL/],
    ['an empty path', () => mutateEntry(E.fifo, (o) => (o.p = '')), /entry 7 .*: p: .*empty path/],
    [
      'a path the same as an earlier one after normalization',
      () => mutateEntry(E.fifo, (o) => (o.p = b64('etc'))),
      /entry 7 .*: p: the same path as an earlier entry/,
    ],
    [
      'a directory path repeated without its slash',
      () => mutateEntry(E.fifo, (o) => Object.assign(o, { t: 'directory', p: b64('./etc') })),
      /entry 7 .*: p: the same path/,
    ],
    [
      'a file under a file',
      () => mutateEntry(E.fifo, (o) => (o.p = b64('./etc/passwd/x'))),
      /entry 7 .*: p: its parent is a file/,
    ],
    [
      'a file through a symlink',
      () => mutateEntry(E.fifo, (o) => (o.p = b64('./etc/sym/x'))),
      /entry 7 .*: p: its parent is a symlink/,
    ],
    ['a non-directory root', () => mutateEntry(E.root, (o) => (o.t = 'fifo')), /entry 0 .*: p: names the root/],
    [
      'a file path ending in /',
      () => mutateEntry(E.fifo, (o) => (o.p = b64('./fifo/'))),
      /entry 7 .*: p: ends with "\/"/,
    ],
    // links
    [
      'a hard link to a later entry',
      () => mutateEntry(E.link, (o) => (o.l = b64('./fifo'))),
      /entry 3 .*: l: hard link to no earlier entry/,
    ],
    [
      'a hard link to a directory',
      () => mutateEntry(E.link, (o) => (o.l = b64('./etc'))),
      /entry 3 .*: l: hard link to a directory/,
    ],
    [
      'a hard link out of the tree',
      () => mutateEntry(E.link, (o) => (o.l = b64('../etc/passwd'))),
      /entry 3 .*: l: .*'\.\.'/,
    ],
    ['an empty symlink target', () => mutateEntry(E.symlink, (o) => (o.l = '')), /entry 4: l: must not be empty/],
    [
      'a NUL in a symlink target',
      () => mutateEntry(E.symlink, (o) => (o.l = b64('/a\0b'))),
      /entry 4: l: target contains a NUL/,
    ],
    // xattrs
    [
      'an xattr in no namespace',
      () => mutateEntry(E.sparse, (o) => (o.x = { evil: b64('v') })),
      /entry 6: x: xattr "evil" is in no known namespace/,
    ],
    [
      'an xattr value over 64 KiB',
      () => mutateEntry(E.sparse, (o) => (o.x = { 'user.a': b64(Buffer.alloc(65537)) })),
      /entry 6: x: .*value of 65537 bytes/,
    ],
    ['an empty xattr object', () => mutateEntry(E.sparse, (o) => (o.x = {})), /entry 6: x: must not be empty/],
    // one spelling only
    [
      'keys in another order',
      () =>
        mutateEntry(E.fifo, (o) => {
          const t = o.t
          delete o.t
          o.t = t
        }),
      /entry 7 .*: line: not in the canonical form/,
    ],
    [
      'spaces in a line',
      () => edit((l) => (l[2] = (l[2] as string).replace(':', ': '))),
      /entry 1 .*: line: not in the canonical form/,
    ],
    [
      'a duplicate key',
      () => edit((l) => (l[8] = (l[8] as string).replace('{', '{"m":420,'))),
      /entry 7 .*: line: not in the canonical form/,
    ],
    [
      'xattrs out of order',
      () => mutateEntry(E.sparse, (o) => (o.x = { 'user.b': b64('1'), 'user.a': b64('2') })),
      /entry 6 .*: line: not in the canonical form/,
    ],
    [
      'an xattr name that is not UTF-8',
      () => Buffer.from(BASE.toString('latin1').replace('"user.a"', '"user.\xff"'), 'latin1'),
      /entry 6 .*: line: not in the canonical form/,
    ],
    [
      'bytes that are not UTF-8',
      () => Buffer.from(BASE.toString('latin1').replace('"t":"fifo"', '"t":"fifo","zz":"\xff"'), 'latin1'),
      /entry 7: zz: unknown field/,
    ],
  ]
  for (const [name, make, want, o] of cases) {
    it(name, () => {
      expect(refusal(make(), o)).toMatch(want)
    })
  }

  it('a non-directory at a path that earlier entries lie inside', () => {
    // ./etc/ holds ./etc/passwd; a later fifo named ./etc (no slash) is the same path and refused as such,
    // and one at a parent nobody listed (./opt, after ./opt/x) is refused as a parent.
    const ix = baseIndex()
    ix.entries.splice(7, 1, { ...(ix.entries[7] as (typeof ix.entries)[0]), path: Buffer.from('./opt/x') })
    ix.entries.push({ ...(ix.entries[7] as (typeof ix.entries)[0]), headerOffset: 5632, path: Buffer.from('./opt') })
    expect(refusal(encodeIndex(ix))).toMatch(/entry 8 .*: p: is a fifo, but an earlier entry lies inside it/)
  })
})
