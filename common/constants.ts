// Constants that come from specifications, each with its source.

/** POSIX.1-1988 ustar / POSIX.1-2001 pax: the tar block size. */
export const TAR_BLOCK = 512

/** ustar header field offsets and lengths (POSIX.1-2001, "ustar Interchange Format"). */
export const USTAR = {
  name: [0, 100],
  mode: [100, 8],
  uid: [108, 8],
  gid: [116, 8],
  size: [124, 12],
  mtime: [136, 12],
  chksum: [148, 8],
  typeflag: [156, 1],
  linkname: [157, 100],
  magic: [257, 6],
  version: [263, 2],
  uname: [265, 32],
  gname: [297, 32],
  devmajor: [329, 8],
  devminor: [337, 8],
  prefix: [345, 155],
} as const satisfies Record<string, readonly [number, number]>

/** ustar typeflag values (POSIX.1-2001), plus pax 'x'/'g' and GNU 'L'/'K'. */
export const TYPEFLAG = {
  file: 0x30, // '0'
  fileOld: 0x00, // NUL, pre-POSIX regular file
  link: 0x31, // '1' hard link
  symlink: 0x32, // '2'
  char: 0x33, // '3'
  block: 0x34, // '4'
  directory: 0x35, // '5'
  fifo: 0x36, // '6'
  contiguous: 0x37, // '7', treated as a regular file (POSIX)
  paxLocal: 0x78, // 'x' pax extended header for the next entry
  paxGlobal: 0x67, // 'g' pax global extended header
  gnuLongName: 0x4c, // 'L' GNU long name for the next entry
  gnuLongLink: 0x4b, // 'K' GNU long link name for the next entry
  gnuSparseOld: 0x53, // 'S' old GNU sparse format (not supported)
} as const

/** Largest value an octal field of N bytes can hold (N-1 digits plus NUL). */
export const OCTAL_MAX = {
  8: 0o7777777,
  12: 0o77777777777,
} as const

/** GNU tar sparse format 1.0 carried in pax headers (GNU tar manual, "Storing Sparse Files"). */
export const GNU_SPARSE = {
  major: 'GNU.sparse.major',
  minor: 'GNU.sparse.minor',
  name: 'GNU.sparse.name',
  realsize: 'GNU.sparse.realsize',
} as const

/** Extended attributes in pax headers, as star and GNU tar write them. */
export const PAX_XATTR_PREFIX = 'SCHILY.xattr.'

/** zstd frame magic number (RFC 8878 section 3.1.1). */
export const ZSTD_MAGIC = Buffer.from([0x28, 0xb5, 0x2f, 0xfd])

/** Linux limits: PATH_MAX and NAME_MAX (limits.h). */
export const PATH_MAX = 4096
export const NAME_MAX = 255

/** BEP 3 / BEP 27 / BEP 19 keys used in .torrent files. */
export const TORRENT = {
  privateFlag: 'private', // BEP 27
  urlList: 'url-list', // BEP 19
  announceList: 'announce-list', // BEP 12
} as const
