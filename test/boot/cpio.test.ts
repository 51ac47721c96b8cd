// Our newc writer against GNU cpio: what it extracts is what we put in.
import { execFileSync } from 'node:child_process'
import { createWriteStream } from 'node:fs'
import { lstat, mkdir, readFile, readlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { dependencyNames, parseStanzas } from '../../initramfs/apt.ts'
import { Tree, writeCpio } from '../../initramfs/index.ts'
import { tempDir } from '../support/tmp.ts'
import { readNewc } from './newc.ts'

function hasCpio(): boolean {
  try {
    execFileSync('sh', ['-c', 'command -v cpio'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

async function archive(tree: Tree, file: string, mtime: number): Promise<void> {
  const out = createWriteStream(file)
  await writeCpio(tree, out, mtime)
  await new Promise<void>((res, rej) => out.end((e?: Error | null) => (e ? rej(e) : res())))
}

describe('newc writer', () => {
  it.runIf(hasCpio())('writes what GNU cpio extracts: files, modes, symlinks, directories, odd sizes', async () => {
    const dir = await tempDir()
    await writeFile(join(dir, 'src.bin'), Buffer.alloc(4099, 7))
    const t = new Tree()
    t.data('/init', '#!/bin/sh\necho hi\n', 0o755)
    t.data('/etc/a/b/c.txt', 'abc', 0o600)
    t.data('/empty', '')
    await t.file('/usr/bin/tool', join(dir, 'src.bin'), 0o4755)
    t.symlink('/bin/sh', 'busybox')
    t.data('/bin/busybox', 'x', 0o755)
    t.dir('/tmp', 0o1777)
    await archive(t, join(dir, 'out.cpio'), 1_700_000_000)
    const x = join(dir, 'x')
    await mkdir(x)
    execFileSync('cpio', ['-idm', '--quiet', '--no-absolute-filenames', '-F', join(dir, 'out.cpio')], { cwd: x })
    expect(await readFile(join(x, 'init'), 'utf8')).toBe('#!/bin/sh\necho hi\n')
    expect((await lstat(join(x, 'init'))).mode & 0o7777).toBe(0o755)
    expect(await readFile(join(x, 'etc/a/b/c.txt'), 'utf8')).toBe('abc')
    expect((await lstat(join(x, 'etc/a/b/c.txt'))).mode & 0o7777).toBe(0o600)
    expect((await readFile(join(x, 'usr/bin/tool'))).equals(Buffer.alloc(4099, 7))).toBe(true)
    expect((await lstat(join(x, 'usr/bin/tool'))).mode & 0o7777).toBe(0o4755)
    expect(await readlink(join(x, 'bin/sh'))).toBe('busybox')
    expect((await lstat(join(x, 'tmp'))).mode & 0o7777).toBe(0o1777)
    expect((await lstat(join(x, 'empty'))).size).toBe(0)
    expect(Math.floor((await lstat(join(x, 'init'))).mtimeMs / 1000)).toBe(1_700_000_000)
  })

  it('is the same bytes whatever order the tree was filled in', async () => {
    const dir = await tempDir()
    const one = new Tree()
    const two = new Tree()
    const files = ['/z', '/a/b', '/a-b', '/a/c/d', '/m']
    for (const f of files) one.data(f, f)
    for (const f of [...files].reverse()) two.data(f, f)
    await archive(one, join(dir, '1'), 5)
    await archive(two, join(dir, '2'), 5)
    const a = await readFile(join(dir, '1'))
    expect(a.equals(await readFile(join(dir, '2')))).toBe(true)
    expect(readNewc(a).map((e) => e.name)).toEqual(['.', 'a', 'a-b', 'a/b', 'a/c', 'a/c/d', 'm', 'z'])
  })

  it('refuses to replace a directory with a file', () => {
    const t = new Tree()
    t.data('/a/b', 'x')
    expect(() => t.data('/a', 'y')).toThrow(/IMGSWARM_ERR_BOOT_BUILD|is a directory/)
  })
})

describe('apt index parsing', () => {
  it('takes the first alternative of each dependency, without versions or arch qualifiers', () => {
    expect(
      dependencyNames('libc6 (>= 2.34), debconf (>= 0.5) | debconf-2.0, python3:any, libxenmisc4.17 (>= 4.17)'),
    ).toEqual(['libc6', 'debconf', 'python3', 'libxenmisc4.17'])
  })

  it('reads apt-cache show stanzas and refuses one without a SHA-256', () => {
    const ok = parseStanzas(
      'Package: kmod\nVersion: 30+20221128-1\nDepends: libc6 (>= 2.34),\n liblzma5 (>= 5.1.1alpha+20120614)\nFilename: pool/main/k/kmod/kmod_30+20221128-1_amd64.deb\nSize: 96000\nSHA256: ' +
        'a'.repeat(64) +
        '\n\n',
    )
    expect(ok).toHaveLength(1)
    expect(ok[0]?.depends).toEqual(['libc6', 'liblzma5'])
    expect(() => parseStanzas('Package: evil\nVersion: 1\nFilename: ../../x.deb\nSHA256: nothex\n')).toThrow(/SHA-256/)
  })
})
