// Lays out the tree before any piece arrives: every directory (mode 0700
// until finalize) and every regular file (created exclusively, never through
// a symlink, sized to its logical size so sparse holes stay holes), plus the
// side file and the resume state. On a target holding our own unfinished
// install for the same torrent and index, checks that tree instead.
import { constants as C, closeSync, fstatSync, ftruncateSync, openSync } from 'node:fs'
import { lstat, mkdir, open, readdir, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { keyOf, SafeTree } from '../../../common/archive/safe-fs.ts'
import { errors, isImgswarmError } from '../../../common/errors.ts'
import { quotePath, sanitizeEntryPath } from '../../../common/paths.ts'
import { asTable, type IndexTable } from '../../../common/tarindex/table.ts'
import type { ArchiveIndex, IndexEntry } from '../../../common/tarindex/types.ts'
import { Layout } from './layout.ts'
import { applyMetaFd, FileTable, type PendingDir, type Prepared } from './meta.ts'
import {
  bitfieldBytes,
  getBit,
  indexDigest,
  readState,
  SIDE_FILE,
  type StateHeader,
  WORK_DIR,
  writeState,
} from './state.ts'
import { validateEntries } from './validate.ts'

export interface InPlaceInit {
  /** The archive index; the install client passes the compact table it parsed into. */
  index: ArchiveIndex | IndexTable
  targetDir: string
  pieceLength: number
  /** The torrent's info hash (hex); ties the resume state to it. */
  infoHash: string
  /** Default: a digest of the index (indexDigest). */
  indexHash?: string
  /** Restore numeric owners. Default: only when running as root. */
  preserveOwner?: boolean
  signal?: AbortSignal
  onWarning?: (msg: string) => void
  /**
   * Mount points of the target's other file systems, relative (e.g. "boot",
   * "boot/efi"): those directories exist already (holding at most lost+found)
   * and the image's directory entries for them are applied to them.
   */
  mountPoints?: string[]
}

const FILE_FLAGS = C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW
const LOST_FOUND = 'lost+found'

/** fs errors (they have a syscall) become coded errors naming the entry; others pass. */
export function named(e: unknown, name: string): unknown {
  if (isImgswarmError(e)) return e
  const err = e as NodeJS.ErrnoException
  if (typeof err?.syscall === 'string') return errors.extractIo(name, err.message)
  return e
}

export async function prepareTree(init: InPlaceInit): Promise<Prepared> {
  const { pieceLength } = init
  const index = asTable(init.index)
  if (!Number.isSafeInteger(pieceLength) || pieceLength < 16384) {
    throw errors.inplaceIndex('torrent', `piece length ${pieceLength} out of range`)
  }
  const layout = Layout.build(index)
  const rootEntry = validateEntries(index)
  const header: StateHeader = {
    infoHash: init.infoHash.toLowerCase(),
    indexHash: init.indexHash ?? indexDigest(index),
    pieceCount: Math.ceil(index.archiveSize / pieceLength),
    pieceLength,
    lostFound: false,
  }
  const pending = new Map<string, PendingDir>()
  const tree = await SafeTree.open(init.targetDir, {
    onImplicitDir: (key, abs, id) => {
      if (!pending.has(key)) pending.set(key, { abs, id, depth: key.split('/').length, entry: -1 })
    },
    onRemovedDir: (key) => {
      const under = `${key}/`
      for (const k of pending.keys()) if (k === key || k.startsWith(under)) pending.delete(k)
    },
  })
  const root = tree.root.toString()
  const workDir = join(root, WORK_DIR)
  const mountPoints = new Set((init.mountPoints ?? []).map((m) => m.replace(/^\/+|\/+$/g, '')).filter((m) => m !== ''))
  const mountTops = new Set([...mountPoints].map((m) => m.split('/')[0] as string))
  const names = await readdir(tree.root, { encoding: 'buffer' })
  const foreign: string[] = []
  let hasWork = false
  for (const n of names) {
    const nm = n.toString('latin1')
    const st = await lstat(Buffer.concat([tree.root, Buffer.from('/'), n]))
    if (nm === WORK_DIR && st.isDirectory()) hasWork = true
    else if (nm === LOST_FOUND && st.isDirectory()) header.lostFound = true
    else if (mountTops.has(nm) && st.isDirectory()) continue
    else foreign.push(quotePath(n))
  }
  let bits = new Uint8Array(bitfieldBytes(header.pieceCount))
  let resumed = false
  const s = hasWork ? await readState(workDir) : undefined
  if (hasWork && !s && foreign.length > 0) {
    throw errors.inplaceOtherInstall(root, 'its resume state is missing or unreadable')
  }
  if (s) {
    const h = s.header
    if (h.infoHash !== header.infoHash || h.indexHash !== header.indexHash || h.pieceLength !== pieceLength) {
      throw errors.inplaceOtherInstall(root, 'it belongs to another image or torrent')
    }
    if (h.pieceCount !== header.pieceCount) throw errors.inplaceOtherInstall(root, 'its piece count differs')
    header.lostFound = h.lostFound
    bits = new Uint8Array(s.bits)
    resumed = true
  } else if (foreign.length > 0) {
    throw errors.inplaceNotEmpty(root, foreign.slice(0, 3).join(', ') + (foreign.length > 3 ? ', ...' : ''))
  } else if (!hasWork) {
    await mkdir(workDir, 0o700)
  }
  const p: Prepared = {
    table: index,
    layout,
    tree,
    files: new FileTable(index.length, layout.fileTotal),
    pending,
    rootEntry,
    workDir,
    header,
    bits,
    resumed,
    preserveOwner: init.preserveOwner ?? process.getuid?.() === 0,
    mountPoints,
    onWarning: init.onWarning ?? (() => undefined),
  }
  await walkEntries(p, init.signal)
  const side = join(workDir, SIDE_FILE)
  if (resumed) {
    const st = await lstat(side).catch(() => undefined)
    if (!st?.isFile() || st.size !== layout.sideSize) throw errors.inplaceOtherInstall(root, 'its side file is damaged')
    countWritten(p)
  } else {
    await unlink(side).catch(() => undefined) // a stale one from a start that stopped before any entry
    const fh = await open(side, FILE_FLAGS, 0o600)
    try {
      await fh.truncate(layout.sideSize)
    } finally {
      await fh.close()
    }
    // The state is written last: its presence means the tree is complete.
    await writeState(workDir, header, bits)
  }
  return p
}

/** Creates (or, on resume, verifies) each entry's place in the tree; validateEntries checked them. */
async function walkEntries(p: Prepared, signal: AbortSignal | undefined): Promise<void> {
  const t = p.table
  for (let i = 0; i < t.length; i++) {
    signal?.throwIfAborted()
    // Creation uses direct syscalls (see io.ts); let timers and sockets run now and then.
    if (i % 512 === 511) await new Promise((r) => setImmediate(r))
    const path = t.path(i)
    const comps = sanitizeEntryPath(path)
    if (comps.length === 0) continue
    const type = t.type(i)
    const name = quotePath(path)
    try {
      if (p.resumed) await verifyEntry(p, i, type, comps, name)
      else await placeEntry(p, i, type, comps, name)
    } catch (err) {
      throw named(err, name)
    }
  }
}

/** Whether the disk layout mounts a file system at `key` or below it. */
function underMount(p: Prepared, key: string): boolean {
  if (p.mountPoints.size === 0) return false
  for (const m of p.mountPoints) if (m === key || m.startsWith(`${key}/`)) return true
  return false
}

/** Makes a directory or an empty-but-sized regular file; the rest waits for finalize. */
async function placeEntry(p: Prepared, i: number, type: IndexEntry['type'], comps: Buffer[], name: string) {
  const { tree } = p
  await tree.parents(comps, name)
  const abs = tree.abs(comps, comps.length, name)
  // Only lost+found (made by mkfs) can already be there: the target was empty otherwise.
  const lostFound = comps.length === 1 && p.header.lostFound && (comps[0] as Buffer).toString() === LOST_FOUND
  // A mount point (and its parents) is a directory we made before the install: keep it.
  const key = type === 'directory' || p.mountPoints.size > 0 ? keyOf(comps) : ''
  const mount = underMount(p, key)
  if (mount && type !== 'directory') {
    throw errors.inplaceIndex(name, `is a ${type} in the image, but the disk layout mounts a file system there`)
  }
  const preexisting = lostFound || mount
  if (type === 'directory') {
    let st = preexisting ? await tree.clear(comps, name, true) : undefined
    if (st === undefined) {
      await mkdir(abs, 0o700)
      st = await lstat(abs)
      if (!st.isDirectory()) throw errors.pathThroughSymlink(name, name)
    }
    tree.verified(key)
    p.pending.set(key, { abs, id: { dev: st.dev, ino: st.ino }, depth: comps.length, entry: i })
    return
  }
  if (preexisting) await tree.clear(comps, name, false)
  if (type !== 'file') return // links, symlinks and nodes are placed by finalize
  await createFile(p, i, abs)
}

async function createFile(p: Prepared, i: number, abs: Buffer): Promise<void> {
  const fd = openSync(abs, FILE_FLAGS, 0o600)
  try {
    const size = p.table.size(i)
    if (size > 0) ftruncateSync(fd, size)
    const st = fstatSync(fd, { bigint: true })
    p.files.set(i, st.ino, Number(st.uid), Number(st.gid))
    if ((p.layout.fileTotal[i] ?? 0) === 0) {
      await applyMetaFd(fd, p.table.entry(i), p.preserveOwner, { uid: Number(st.uid), gid: Number(st.gid) })
    }
  } finally {
    closeSync(fd)
  }
}

async function verifyEntry(p: Prepared, i: number, type: IndexEntry['type'], comps: Buffer[], name: string) {
  const { tree } = p
  await tree.parents(comps, name, false, (why) => errors.inplaceTreeChanged(name, why))
  for (let j = 1; j < comps.length; j++) {
    const key = keyOf(comps, j)
    if (p.pending.has(key) || (key === LOST_FOUND && p.header.lostFound)) continue
    const st = await lstat(tree.abs(comps, j, name))
    p.pending.set(key, { abs: tree.abs(comps, j, name), id: { dev: st.dev, ino: st.ino }, depth: j, entry: -1 })
  }
  if (type !== 'directory' && type !== 'file') return
  const abs = tree.abs(comps, comps.length, name)
  const st = await lstat(abs, { bigint: true }).catch(() => undefined)
  if (type === 'directory') {
    if (!st?.isDirectory()) throw errors.inplaceTreeChanged(name, 'is no longer a directory')
    tree.verified(keyOf(comps))
    p.pending.set(keyOf(comps), {
      abs,
      id: { dev: Number(st.dev), ino: Number(st.ino) },
      depth: comps.length,
      entry: i,
    })
    return
  }
  if (!st?.isFile() || st.size !== BigInt(p.table.size(i)))
    throw errors.inplaceTreeChanged(name, 'was replaced or resized')
  p.files.set(i, st.ino, Number(st.uid), Number(st.gid))
}

/** On resume: what the recorded pieces already wrote into each file. */
function countWritten(p: Prepared): void {
  const { pieceCount, pieceLength } = p.header
  for (let piece = 0; piece < pieceCount; piece++) {
    if (!getBit(p.bits, piece)) continue
    const start = piece * pieceLength
    for (const s of p.layout.slices(start, Math.min(start + pieceLength, p.layout.archiveSize))) {
      if (p.files.has(s.entry)) p.files.done[s.entry] = (p.files.done[s.entry] as number) + s.length
    }
  }
}
