// Builds trees holding every kind of entry the packer must preserve, and
// snapshots a tree's metadata so two trees can be compared attribute by attribute.
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import {
  chmod,
  chown,
  link,
  lstat,
  lutimes,
  mkdir,
  open,
  readdir,
  readlink,
  symlink,
  utimes,
  writeFile,
} from 'node:fs/promises'
import { join } from 'node:path'

export const CAP_NET_BIND = '0x0100000200040000000000000000000000000000'
export const LONG_NAME = `${'dir-with-a-long-name-'.repeat(5)}/${'f'.repeat(90)}`

function must(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`)
}

export interface TreeOptions {
  /** Size of the sparse file (default 1 GiB). */
  sparseSize?: number
  /** Create entries in reverse order (for determinism tests). */
  reverse?: boolean
}

/** A root-only tree: setuid root binary, capability, devices, foreign owners, holes, long paths. */
export async function buildFullTree(root: string, opts: TreeOptions = {}): Promise<void> {
  const steps: (() => Promise<void>)[] = [
    async () => {
      await mkdir(join(root, 'usr/bin'), { recursive: true })
      await writeFile(join(root, 'usr/bin/passwd'), Buffer.from('#!/bin/sh\n# setuid root\n'))
      await chown(join(root, 'usr/bin/passwd'), 0, 0)
      await chmod(join(root, 'usr/bin/passwd'), 0o4755)
    },
    async () => {
      await mkdir(join(root, 'usr/bin'), { recursive: true })
      await writeFile(join(root, 'usr/bin/ping'), Buffer.from('ping binary'))
      await chmod(join(root, 'usr/bin/ping'), 0o755)
      must('setfattr', ['-n', 'security.capability', '-v', CAP_NET_BIND, join(root, 'usr/bin/ping')])
      must('setfattr', ['-n', 'user.note', '-v', 'hello', join(root, 'usr/bin/ping')])
    },
    async () => {
      await mkdir(join(root, 'srv/data'), { recursive: true })
      await writeFile(join(root, 'srv/data/a'), 'hard linked content\n')
      await link(join(root, 'srv/data/a'), join(root, 'srv/data/b'))
      await chown(join(root, 'srv/data/a'), 1234, 5678)
      await chmod(join(root, 'srv/data'), 0o2750)
    },
    async () => {
      await mkdir(join(root, 'dev'), { recursive: true })
      must('mknod', ['-m', '0620', join(root, 'dev/tty9'), 'c', '4', '9'])
      must('mknod', ['-m', '0660', join(root, 'dev/loopx'), 'b', '7', '200'])
      must('mkfifo', ['-m', '0600', join(root, 'dev/pipe')])
    },
    async () => {
      await mkdir(join(root, 'tmp'), { recursive: true })
      await chmod(join(root, 'tmp'), 0o1777)
      await mkdir(join(root, 'etc'), { recursive: true })
      await symlink('/usr/bin/passwd', join(root, 'etc/abs-link'))
      await symlink('../usr/bin', join(root, 'etc/rel-link'))
      await symlink('/nonexistent/dangling', join(root, 'etc/dangling'))
      await writeFile(join(root, 'etc/hostname'), 'golden\n')
      await chmod(join(root, 'etc/hostname'), 0o600)
      await utimes(join(root, 'etc/hostname'), new Date('2001-02-03T04:05:06Z'), new Date('2001-02-03T04:05:06Z'))
    },
    async () => {
      await mkdir(join(root, 'var/lib'), { recursive: true })
      const fh = await open(join(root, 'var/lib/disk.img'), 'w')
      const size = opts.sparseSize ?? 1 << 30
      await fh.write(Buffer.from('start'), 0, undefined, 0)
      await fh.write(Buffer.from('middle of the hole'), 0, undefined, Math.floor(size / 2))
      await fh.truncate(size)
      await fh.close()
    },
    async () => {
      const p = join(root, 'opt', LONG_NAME)
      await mkdir(join(p, '..'), { recursive: true })
      await writeFile(p, 'long path\n')
    },
    async () => {
      await mkdir(join(root, 'opt/bulk'), { recursive: true })
      await writeFile(
        join(root, 'opt/bulk/blob'),
        createHash('sha256').update('seed').digest().toString('hex').repeat(100_000),
      )
    },
  ]
  for (const s of opts.reverse ? steps.reverse() : steps) await s()
  // Every entry gets a fixed time (hostname its own), so that two trees built
  // at different moments are identical; directories last, deepest first.
  const fixed = new Date('2020-05-05T05:05:05Z')
  const all: string[] = []
  const collect = async (rel: string) => {
    all.push(rel)
    const st = await lstat(join(root, rel))
    if (st.isDirectory()) for (const n of await readdir(join(root, rel))) await collect(rel === '' ? n : `${rel}/${n}`)
  }
  await collect('')
  for (const rel of all.reverse()) {
    if (rel === 'etc/hostname') continue
    await lutimes(join(root, rel), fixed, fixed)
  }
}

export interface EntrySnapshot {
  type: string
  mode: number
  uid: number
  gid: number
  mtime: number
  size: number
  rdev?: number
  target?: string
  sha256?: string
  xattrs?: string
  /** Other paths sharing this inode (hard links). */
  links?: string
}

async function hashFile(path: string): Promise<string> {
  const h = createHash('sha256')
  for await (const c of createReadStream(path, { highWaterMark: 1 << 20 })) h.update(c as Buffer)
  return h.digest('hex')
}

function typeOf(st: Awaited<ReturnType<typeof lstat>>): string {
  if (st.isDirectory()) return 'dir'
  if (st.isSymbolicLink()) return 'symlink'
  if (st.isFile()) return 'file'
  if (st.isCharacterDevice()) return 'char'
  if (st.isBlockDevice()) return 'block'
  if (st.isFIFO()) return 'fifo'
  return 'other'
}

function xattrsOf(path: string): string {
  const r = spawnSync('getfattr', ['-h', '-d', '-m', '-', '-e', 'hex', '--absolute-names', path], { encoding: 'utf8' })
  return r.stdout
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#'))
    .sort()
    .join(';')
}

/** Every entry's metadata, keyed by path relative to the root ('' for the root). */
export async function snapshot(root: string): Promise<Map<string, EntrySnapshot>> {
  const out = new Map<string, EntrySnapshot>()
  const inodes = new Map<number, string[]>()
  const walk = async (rel: string) => {
    const abs = join(root, rel)
    const st = await lstat(abs)
    const type = typeOf(st)
    const e: EntrySnapshot = {
      type,
      mode: st.mode & 0o7777,
      uid: st.uid,
      gid: st.gid,
      mtime: Math.floor(st.mtimeMs / 1000),
      size: type === 'dir' ? 0 : st.size,
    }
    if (type === 'char' || type === 'block') e.rdev = st.rdev
    if (type === 'symlink') e.target = await readlink(abs)
    if (type === 'file') {
      e.sha256 = await hashFile(abs)
      if (st.nlink > 1) inodes.set(st.ino, [...(inodes.get(st.ino) ?? []), rel])
    }
    if (type !== 'symlink') {
      const x = xattrsOf(abs)
      if (x) e.xattrs = x
    }
    if (type === 'symlink') e.mode = 0
    out.set(rel, e)
    if (type === 'dir') for (const n of (await readdir(abs)).sort()) await walk(rel === '' ? n : `${rel}/${n}`)
  }
  await walk('')
  for (const group of inodes.values())
    for (const p of group) (out.get(p) as EntrySnapshot).links = group.sort().join(',')
  return out
}
