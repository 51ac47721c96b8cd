// Moving a range of archive bytes between a buffer and the tree. Measured on
// the 2-core VMs (bench/inplace): a thread-pool round trip costs far more
// than a small syscall, and an image is mostly small files. So:
// - the side-file bytes of a range are contiguous in the side file: one
//   positional write or read for all of them;
// - a small file whose bytes all lie in the range (the common case) is
//   opened, written, given its metadata and closed with direct syscalls;
// - large slices go through the thread pool, a few at once, so a big
//   write never blocks the event loop.
import { constants as C, closeSync, fstatSync, openSync, readSync, writeSync } from 'node:fs'
import type { FileHandle } from 'node:fs/promises'
import { errors } from '../../../common/errors.ts'
import { type FdCache, forEachLimit, preadAll, pwriteAll } from './fds.ts'
import type { Slice } from './layout.ts'
import { absOf, applyMeta, applyMetaFd, entryName, type Prepared } from './meta.ts'
import { named } from './prepare.ts'

/** Slices up to this size use direct syscalls. */
const SMALL = 64 * 1024
/** Thread-pool file operations in flight per range. */
const IO_PARALLEL = 8

export interface IoContext {
  p: Prepared
  writers: FdCache
  readers: FdCache
  side: () => Promise<FileHandle>
}

export { entryName }

/** Side slices in a range are back to back in the side file; undefined if they are not (never, by construction). */
function sideRun(slices: Slice[]): { at: number; length: number; parts: Slice[] } | undefined {
  const parts = slices.filter((s) => s.entry < 0)
  const first = parts[0]
  if (!first) return undefined
  let end = first.at
  for (const s of parts) {
    if (s.at !== end) throw new Error('side slices are not contiguous')
    end += s.length
  }
  return { at: first.at, length: end - first.at, parts }
}

function readAllSync(fd: number, b: Buffer, position: number): boolean {
  for (let done = 0; done < b.length; ) {
    const n = readSync(fd, b, done, b.length - done, position + done)
    if (n === 0) return false
    done += n
  }
  return true
}

function writeAllSync(fd: number, b: Buffer, position: number): void {
  for (let done = 0; done < b.length; ) done += writeSync(fd, b, done, b.length - done, position + done)
}

/** A whole small file: open, write, owner, mode, xattrs, times, close. */
async function writeWhole(p: Prepared, i: number, data: Buffer, at: number): Promise<void> {
  const fd = openSync(absOf(p, i), C.O_WRONLY | C.O_NOFOLLOW)
  try {
    writeAllSync(fd, data, at)
    await applyMetaFd(fd, p.table.entry(i), p.preserveOwner, {
      uid: p.files.uid[i] as number,
      gid: p.files.gid[i] as number,
    })
  } finally {
    closeSync(fd)
  }
}

/** Writes archive bytes [start, start + buf.length) into their files and the side file; applies metadata to completed files. */
export async function writeRange(io: IoContext, start: number, buf: Buffer): Promise<void> {
  const { p } = io
  const slices = [...p.layout.slices(start, start + buf.length)]
  const data = (s: Slice) => buf.subarray(s.archiveOffset - start, s.archiveOffset - start + s.length)
  const side = sideRun(slices)
  const sideWrite = side
    ? io.side().then((fh) => pwriteAll(fh, Buffer.concat(side.parts.map(data)), side.at))
    : Promise.resolve()
  sideWrite.catch(() => undefined)
  const large: Slice[] = []
  const completed: number[] = []
  const { done, total } = p.files
  for (const s of slices) {
    const i = s.entry
    if (!p.files.has(i)) continue
    if (done[i] === 0 && s.length === total[i] && s.length <= SMALL) {
      try {
        await writeWhole(p, i, data(s), s.at)
      } catch (err) {
        throw named(err, entryName(p, i))
      }
      done[i] = total[i] as number
    } else large.push(s)
  }
  await forEachLimit(large, IO_PARALLEL, async (s) => {
    const i = s.entry
    try {
      await io.writers.use(i, (fh) => pwriteAll(fh, data(s), s.at))
    } catch (err) {
      throw named(err, entryName(p, i))
    }
    // Counted only once written: a file is complete when nothing is still being written into it.
    done[i] = (done[i] as number) + s.length
    if (done[i] === total[i]) completed.push(i)
  })
  await forEachLimit(completed, IO_PARALLEL, async (i) => {
    try {
      await io.writers.use(i, (fh) => applyMeta(fh, p.table.entry(i), p.preserveOwner))
      await io.writers.drop(i)
    } catch (err) {
      throw named(err, entryName(p, i))
    }
  })
  try {
    await sideWrite
  } catch (err) {
    throw named(err, 'side file')
  }
}

/** Opens (O_RDONLY, no symlink) the file of a slice; checks it is the file we made, or (frozen) unchanged since freeze. */
export type OpenCheck = (entry: number, piece: number) => number

/** Reads archive bytes [start, start + len) back from the tree. */
export async function readRange(io: IoContext, start: number, len: number, openFrozen?: OpenCheck): Promise<Buffer> {
  const { p } = io
  const out = Buffer.allocUnsafe(len)
  const slices = [...p.layout.slices(start, start + len)]
  const dst = (s: Slice) => out.subarray(s.archiveOffset - start, s.archiveOffset - start + s.length)
  const short = (s: Slice) =>
    errors.inplaceTreeChanged(s.entry < 0 ? 'side file' : entryName(p, s.entry), 'was cut short')
  const side = sideRun(slices)
  if (side) {
    const b = Buffer.allocUnsafe(side.length)
    if (!(await preadAll(await io.side(), b, side.at))) throw short(side.parts[0] as Slice)
    let off = 0
    for (const s of side.parts) {
      b.copy(dst(s), 0, off, off + s.length)
      off += s.length
    }
  }
  const files = slices.filter((s) => s.entry >= 0)
  const pieceOf = (s: Slice) => Math.floor(s.archiveOffset / p.header.pieceLength)
  if (openFrozen) {
    // After freeze: open by path every time, so a changed or replaced file is noticed.
    for (const s of files) {
      const fd = openFrozen(s.entry, pieceOf(s))
      try {
        if (!readAllSync(fd, dst(s), s.at)) throw short(s)
      } finally {
        closeSync(fd)
      }
    }
    return out
  }
  const large: Slice[] = []
  for (const s of files) {
    if ((p.files.total[s.entry] as number) > SMALL) {
      large.push(s)
      continue
    }
    // A small file: direct syscalls, not worth a place in the cache.
    const fd = openSync(absOf(p, s.entry), C.O_RDONLY | C.O_NOFOLLOW)
    try {
      if (fstatSync(fd, { bigint: true }).ino !== p.files.ino(s.entry)) {
        throw errors.inplaceTreeChanged(entryName(p, s.entry), 'was replaced by another file')
      }
      if (!readAllSync(fd, dst(s), s.at)) throw short(s)
    } finally {
      closeSync(fd)
    }
  }
  await forEachLimit(large, IO_PARALLEL, async (s) => {
    if (!(await io.readers.use(s.entry, (fh) => preadAll(fh, dst(s), s.at)))) throw short(s)
  })
  return out
}
