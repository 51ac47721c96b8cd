// Faithful restoring: every entry kind with exact owner, mode, mtime, xattrs,
// holes and links. Runs as root (owners and devices need it).
import { spawnSync } from 'node:child_process'
import { lstat, readdir, readFile, readlink, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { zstdCompressSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { extractArchive, openArchive } from '../../common/archive/index.ts'
import { END_OF_ARCHIVE, encodeHeader } from '../../common/tar/header.ts'
import type { ReadEntry } from '../../common/tar/reader.ts'
import { CAP_NET_BIND_V2, extract, rawTar, sandbox, sparseEntry, tarStream, tempDir } from './helpers.ts'

const isRoot = process.getuid?.() === 0
const T = new Date('2001-02-03T04:05:06Z')
const secs = T.getTime() / 1000

function xattr(path: string, name: string, deref = true): Buffer | undefined {
  const r = spawnSync('getfattr', [...(deref ? [] : ['-h']), '-n', name, '-e', 'hex', '--absolute-names', path], {
    encoding: 'utf8',
  })
  const line = r.stdout.split('\n').find((l) => l.includes('=0x'))
  return line === undefined ? undefined : Buffer.from(line.slice(line.indexOf('=0x') + 3), 'hex')
}

describe.runIf(isRoot)('extractArchive restores (root)', () => {
  it('files, dirs, symlinks with exact owner, mode and mtime', async () => {
    const sb = await sandbox()
    const tar = await tarStream([
      { name: 'etc/', type: 'directory', mode: 0o755, uid: 0, gid: 0, mtime: T },
      { name: 'etc/conf', data: 'hello\n', mode: 0o640, uid: 1234, gid: 5678, mtime: T },
      { name: 'usr/bin/passwd', data: '#!/bin/sh\n', mode: 0o4755, uid: 0, gid: 0, mtime: T },
      { name: 'usr/bin/sg', data: 'x', mode: 0o2711, uid: 0, gid: 42, mtime: T },
      { name: 'tmp/', type: 'directory', mode: 0o1777, mtime: T },
      { name: 'etc/abs', type: 'symlink', linkname: '/usr/bin/passwd', uid: 1234, gid: 5678, mtime: T },
      { name: 'etc/rel', type: 'symlink', linkname: '../usr/bin', mtime: T },
      { name: 'etc/dangling', type: 'symlink', linkname: '/nonexistent/x', mtime: T },
    ])
    const res = await extract(tar, sb.target)
    expect(res).toMatchObject({ entries: 8, files: 3, dirs: 2 })
    const conf = await lstat(join(sb.target, 'etc/conf'))
    expect([conf.uid, conf.gid, conf.mode & 0o7777, conf.mtimeMs / 1000]).toEqual([1234, 5678, 0o640, secs])
    expect(conf.atimeMs / 1000).toBe(secs)
    expect(await readFile(join(sb.target, 'etc/conf'), 'utf8')).toBe('hello\n')
    expect((await lstat(join(sb.target, 'usr/bin/passwd'))).mode & 0o7777).toBe(0o4755)
    const sg = await lstat(join(sb.target, 'usr/bin/sg'))
    expect([sg.mode & 0o7777, sg.gid]).toEqual([0o2711, 42])
    const tmp = await lstat(join(sb.target, 'tmp'))
    expect([tmp.mode & 0o7777, tmp.mtimeMs / 1000]).toEqual([0o1777, secs])
    // Directory times survive the children created after them.
    expect((await lstat(join(sb.target, 'etc'))).mtimeMs / 1000).toBe(secs)
    expect(await readlink(join(sb.target, 'etc/abs'))).toBe('/usr/bin/passwd')
    const abs = await lstat(join(sb.target, 'etc/abs'))
    expect([abs.uid, abs.gid, abs.mtimeMs / 1000]).toEqual([1234, 5678, secs])
    expect(await readlink(join(sb.target, 'etc/rel'))).toBe('../usr/bin')
    expect(await readlink(join(sb.target, 'etc/dangling'))).toBe('/nonexistent/x')
    // Parents the archive did not list: 0755 root.
    const usr = await lstat(join(sb.target, 'usr'))
    expect([usr.mode & 0o7777, usr.uid, usr.gid]).toEqual([0o755, 0, 0])
    await sb.assertUntouched()
  })

  it('read-only directories get their mode at the end, after their children', async () => {
    const sb = await sandbox()
    const tar = await tarStream([
      { name: 'ro/', type: 'directory', mode: 0o555, uid: 1234, gid: 5678, mtime: T },
      { name: 'ro/inner/', type: 'directory', mode: 0o500, mtime: T },
      { name: 'ro/inner/f', data: 'x', mode: 0o400 },
    ])
    await extract(tar, sb.target)
    const ro = await lstat(join(sb.target, 'ro'))
    expect([ro.mode & 0o7777, ro.uid, ro.gid, ro.mtimeMs / 1000]).toEqual([0o555, 1234, 5678, secs])
    expect((await lstat(join(sb.target, 'ro/inner'))).mode & 0o7777).toBe(0o500)
  })

  it('hard links share the inode', async () => {
    const sb = await sandbox()
    const tar = await tarStream([
      { name: 'srv/a', data: 'shared\n', uid: 1234, gid: 5678 },
      { name: 'srv/b', type: 'link', linkname: 'srv/a' },
      { name: 'other/c', type: 'link', linkname: './srv/a' },
    ])
    await extract(tar, sb.target)
    const a = await stat(join(sb.target, 'srv/a'))
    const b = await stat(join(sb.target, 'srv/b'))
    expect(b.ino).toBe(a.ino)
    expect(a.nlink).toBe(3)
    expect(await readFile(join(sb.target, 'other/c'), 'utf8')).toBe('shared\n')
  })

  it('sparse files keep their holes', async () => {
    const sb = await sandbox()
    const size = 256 << 20
    const tar = rawTar([
      sparseEntry('./var/disk.img', size, [
        { offset: 0, data: Buffer.from('start') },
        { offset: 100 << 20, data: Buffer.alloc(8192, 7) },
        { offset: size, data: Buffer.alloc(0) },
      ]),
    ])
    expect(tar.length).toBeLessThan(64 << 10)
    await extract(tar, sb.target)
    const p = join(sb.target, 'var/disk.img')
    const st = await stat(p)
    expect(st.size).toBe(size)
    expect(st.blocks * 512).toBeLessThan(1 << 20)
    const fd = await (await import('node:fs/promises')).open(p)
    const b = Buffer.alloc(8192)
    await fd.read(b, 0, 5, 0)
    expect(b.subarray(0, 5).toString()).toBe('start')
    await fd.read(b, 0, 8192, 100 << 20)
    expect(b.every((x) => x === 7)).toBe(true)
    await fd.read(b, 0, 16, 50 << 20)
    expect(b.subarray(0, 16).every((x) => x === 0)).toBe(true)
    await fd.close()
  })

  it('a sparse file streamed in tiny chunks spanning segments', async () => {
    const sb = await sandbox()
    const segs = Array.from({ length: 20 }, (_, i) => ({ offset: i * 10_000, data: Buffer.alloc(300 + i, i + 1) }))
    const tar = rawTar([sparseEntry('s', 300_000, segs)])
    await extractArchive(
      (async function* () {
        for (let i = 0; i < tar.length; i += 37) yield tar.subarray(i, i + 37)
      })(),
      sb.target,
    )
    const got = await readFile(join(sb.target, 's'))
    expect(got.length).toBe(300_000)
    for (const s of segs) expect(got.subarray(s.offset, s.offset + s.data.length).equals(s.data)).toBe(true)
    expect(got[9_999]).toBe(0)
  })

  it('xattrs: security.capability survives chown, user.* too; on directories and symlinks', async () => {
    const sb = await sandbox()
    const tar = rawTar([
      {
        path: './usr/bin/ping',
        data: Buffer.from('ping'),
        mode: 0o755,
        uid: 1234,
        gid: 5678,
        xattrs: new Map([
          ['security.capability', CAP_NET_BIND_V2],
          ['user.test', Buffer.from([0, 1, 2, 0xff, 0x0a])],
          ['user.with space', Buffer.from('v')],
        ]),
      },
      { path: './d/', type: 'directory', mode: 0o750, xattrs: new Map([['user.dir', Buffer.from('d')]]) },
      {
        path: './lnk',
        type: 'symlink',
        linkpath: Buffer.from('/x'),
        xattrs: new Map([['trusted.l', Buffer.from('s')]]),
      },
      { path: './fifo', type: 'fifo', mode: 0o640, xattrs: new Map([['trusted.f', Buffer.from('f')]]) },
    ])
    await extract(tar, sb.target)
    const ping = join(sb.target, 'usr/bin/ping')
    expect(xattr(ping, 'security.capability')).toEqual(CAP_NET_BIND_V2)
    expect(xattr(ping, 'user.test')).toEqual(Buffer.from([0, 1, 2, 0xff, 0x0a]))
    expect(xattr(ping, 'user.with space')).toEqual(Buffer.from('v'))
    const st = await lstat(ping)
    expect([st.uid, st.gid, st.mode & 0o7777]).toEqual([1234, 5678, 0o755])
    expect(xattr(join(sb.target, 'd'), 'user.dir')).toEqual(Buffer.from('d'))
    expect(xattr(join(sb.target, 'lnk'), 'trusted.l', false)).toEqual(Buffer.from('s'))
    expect(await readlink(join(sb.target, 'lnk'))).toBe('/x')
    expect(xattr(join(sb.target, 'fifo'), 'trusted.f', false)).toEqual(Buffer.from('f'))
    expect((await lstat(join(sb.target, 'fifo'))).mode & 0o7777).toBe(0o640)
    // No temporary names left behind.
    expect((await readdir(sb.target)).filter((n) => n.startsWith('.imgswarm'))).toEqual([])
  })

  it('non-UTF-8 names are bytes, kept exactly', async () => {
    const sb = await sandbox()
    const name = Buffer.from([0x66, 0xff, 0xfe, 0x2e, 0x74])
    const tar = rawTar([
      { path: Buffer.concat([Buffer.from('./'), name, Buffer.from('/')]), type: 'directory' },
      { path: Buffer.concat([Buffer.from('./'), name, Buffer.from('/'), name]), data: Buffer.from('bytes') },
      { path: Buffer.concat([Buffer.from('./'), name, Buffer.from('/dev')]), type: 'char', devmajor: 1, devminor: 5 },
    ])
    await extract(tar, sb.target)
    const dir = Buffer.concat([Buffer.from(`${sb.target}/`), name])
    expect(await readFile(Buffer.concat([dir, Buffer.from('/'), name]), 'utf8')).toBe('bytes')
    expect((await lstat(Buffer.concat([dir, Buffer.from('/dev')]))).isCharacterDevice()).toBe(true)
  })

  it('the root entry ./ sets the target directory owner, mode and mtime', async () => {
    const sb = await sandbox()
    const tar = await tarStream([
      { name: './', type: 'directory', mode: 0o711, uid: 1234, gid: 5678, mtime: T },
      { name: './f', data: 'x' },
    ])
    await extract(tar, sb.target)
    const st = await lstat(sb.target)
    expect([st.mode & 0o7777, st.uid, st.gid, st.mtimeMs / 1000]).toEqual([0o711, 1234, 5678, secs])
  })

  it('later duplicates win: file over file, file over directory, directory metadata updated', async () => {
    const sb = await sandbox()
    const tar = await tarStream([
      { name: 'f', data: 'first' },
      { name: 'h', type: 'link', linkname: 'f' },
      { name: 'f', data: 'second' },
      { name: 'd/', type: 'directory' },
      { name: 'd/child', data: 'gone' },
      { name: 'd', data: 'now a file' },
      { name: 'e/', type: 'directory', mode: 0o700 },
      { name: 'e/', type: 'directory', mode: 0o751, mtime: T },
    ])
    await extract(tar, sb.target)
    expect(await readFile(join(sb.target, 'f'), 'utf8')).toBe('second')
    // The hard link kept the old inode: the new file did not write through it.
    expect(await readFile(join(sb.target, 'h'), 'utf8')).toBe('first')
    expect(await readFile(join(sb.target, 'd'), 'utf8')).toBe('now a file')
    const e = await lstat(join(sb.target, 'e'))
    expect([e.mode & 0o7777, e.mtimeMs / 1000]).toEqual([0o751, secs])
  })

  it('a tar.zst file and a zstd byte stream, detected by content', async () => {
    const sb = await sandbox()
    const tar = await tarStream([
      { name: 'a', data: Buffer.alloc(3 << 20, 'abc') },
      { name: 'b/c', data: 'c' },
    ])
    const zst = zstdCompressSync(tar)
    const file = join(await tempDir(), 'image.bin')
    await writeFile(file, zst)
    let compressed = 0
    const res = await extractArchive(openArchive(file, { onCompressedBytes: (n) => (compressed = n) }), sb.target)
    expect(res.bytes).toBe((3 << 20) + 1)
    expect(compressed).toBe(zst.length)
    expect((await readFile(join(sb.target, 'a'))).equals(Buffer.alloc(3 << 20, 'abc'))).toBe(true)
    const out2 = join(await tempDir(), 'out')
    await extractArchive(
      openArchive(
        (async function* () {
          for (let i = 0; i < zst.length; i += 3) yield zst.subarray(i, i + 3)
        })(),
      ),
      out2,
    )
    expect(await readFile(join(out2, 'b/c'), 'utf8')).toBe('c')
  })

  it('a truncated or corrupt zstd stream is a coded error', async () => {
    const tar = await tarStream([{ name: 'a', data: Buffer.alloc(100_000, 'x') }])
    const zst = zstdCompressSync(tar)
    const sb = await sandbox()
    await expect(extractArchive(openArchive([zst.subarray(0, zst.length >> 1)]), sb.target)).rejects.toMatchObject({
      code: expect.stringMatching(/ARCHIVE_(TRUNCATED|CORRUPT)/),
    })
    const bad = Buffer.from(zst)
    bad.fill(0x55, 20, 60)
    await expect(extractArchive(openArchive(asIter(bad)), join(sb.base, 'other'))).rejects.toMatchObject({
      code: expect.stringMatching(/ARCHIVE_(TRUNCATED|CORRUPT)/),
    })
  })

  it('streams big files: memory does not grow with file size', async () => {
    const sb = await sandbox()
    const size = 256 << 20
    const header = encodeHeader({
      path: Buffer.from('big'),
      type: 'file',
      mode: 0o644,
      uid: 0,
      gid: 0,
      size,
      mtime: 0,
      linkpath: Buffer.alloc(0),
      devmajor: 0,
      devminor: 0,
      xattrs: new Map(),
    })
    const mib = Buffer.alloc(1 << 20, 0x5a)
    let peak = 0
    const source = async function* () {
      yield header
      for (let i = 0; i < size / mib.length; i++) {
        peak = Math.max(peak, process.memoryUsage().rss)
        yield mib
      }
      yield END_OF_ARCHIVE
    }
    const before = process.memoryUsage().rss
    const res = await extractArchive(source(), sb.target)
    expect(res.bytes).toBe(size)
    expect((await stat(join(sb.target, 'big'))).size).toBe(size)
    expect(peak - before).toBeLessThan(96 << 20)
  })

  it('without preserveOwner: owners not restored, setuid/setgid cleared with a warning', async () => {
    const sb = await sandbox()
    const tar = await tarStream([{ name: 'suid', data: 'x', mode: 0o6755, uid: 1234, gid: 5678 }])
    const warnings: string[] = []
    await extract(tar, sb.target, { preserveOwner: false, onWarning: (m) => warnings.push(m) })
    const st = await lstat(join(sb.target, 'suid'))
    expect([st.uid, st.mode & 0o7777]).toEqual([0, 0o755])
    expect(warnings.join()).toContain('setuid')
  })

  it('reports entries and progress, and stops on abort', async () => {
    const sb = await sandbox()
    const tar = await tarStream(Array.from({ length: 10 }, (_, i) => ({ name: `f${i}`, data: 'x'.repeat(1000) })))
    const seen: ReadEntry[] = []
    let last = 0
    const ac = new AbortController()
    const err = await extract(tar, sb.target, {
      signal: ac.signal,
      onEntry: (e) => {
        seen.push(e)
        if (seen.length === 4) ac.abort(new Error('stop'))
      },
      onProgress: (n) => (last = n),
    }).catch((e: Error) => e)
    expect((err as Error).message).toBe('stop')
    expect(seen.length).toBe(4)
    expect(last).toBeGreaterThan(0)
    expect(await readdir(sb.target)).not.toContain('f9')
  })
})

function asIter(b: Buffer): AsyncIterable<Buffer> {
  return (async function* () {
    yield b
  })()
}
