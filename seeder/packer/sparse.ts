// Sparse files: a file whose allocation is smaller than its size is scanned
// for zero blocks, and stored as GNU sparse 1.0 (map + data segments) so a
// 1 GiB hole costs nothing in the archive. Node has no SEEK_HOLE, so holes are
// found by content; the choice depends only on the file's content and on
// whether it is allocated sparsely.
import { readSync } from 'node:fs'
import type { SparseSegment } from '../../common/tar/header.ts'

const BLOCK = 4096
const CHUNK = 1 << 20
const ZERO = Buffer.alloc(CHUNK)

export function isSparseCandidate(size: bigint, blocks: bigint): boolean {
  return size > BigInt(BLOCK) && blocks * 512n < size
}

/**
 * Data segments of a file, found by reading it once. Returns undefined when
 * the file has no hole at all (it is then stored as a plain file).
 */
export function scanSparse(
  fd: number,
  size: number,
  buf: Buffer = Buffer.allocUnsafe(CHUNK),
): SparseSegment[] | undefined {
  const map: SparseSegment[] = []
  let pos = 0
  let dataStart = -1
  const closeData = (end: number) => {
    if (dataStart >= 0) {
      map.push({ offset: dataStart, size: end - dataStart })
      dataStart = -1
    }
  }
  while (pos < size) {
    const want = Math.min(CHUNK, size - pos)
    const n = readSync(fd, buf, 0, want, pos)
    if (n <= 0) throw new Error(`file shrank while packing (read ${pos} of ${size} bytes)`)
    if (n === CHUNK && buf.equals(ZERO)) {
      closeData(pos)
    } else {
      for (let off = 0; off < n; off += BLOCK) {
        const end = Math.min(off + BLOCK, n)
        const zero = buf.compare(ZERO, 0, end - off, off, end) === 0
        if (zero) closeData(pos + off)
        else if (dataStart < 0) dataStart = pos + off
      }
    }
    pos += n
  }
  closeData(size)
  const dataBytes = map.reduce((a, s) => a + s.size, 0)
  if (dataBytes === size) return undefined
  // GNU tar ends the map with a zero-length segment at the end of the file, so
  // a trailing hole keeps the size even in tars that ignore realsize.
  const last = map[map.length - 1]
  if (!last || last.offset + last.size < size) map.push({ offset: size, size: 0 })
  return map
}

/** The map as GNU sparse 1.0 stores it: decimal lines, padded to 512 bytes. */
export function encodeSparseMap(map: SparseSegment[]): Buffer {
  const text = [String(map.length), ...map.flatMap((s) => [String(s.offset), String(s.size)])].join('\n') + '\n'
  const body = Buffer.from(text, 'latin1')
  const padded = Buffer.alloc(Math.ceil(body.length / 512) * 512)
  body.copy(padded)
  return padded
}
