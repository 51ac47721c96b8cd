// One test per attack. Each archive is built in memory; each test asserts the
// coded error AND that nothing changed outside the target (the `outside`
// sibling keeps its exact files, modes, link counts and times).
import { existsSync, statSync } from 'node:fs'
import { lstat, readFile, readlink } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { PATH_MAX } from '../../common/constants.ts'
import { encodeHeader, encodePaxRecords } from '../../common/tar/header.ts'
import { extract, makedev, rawTar, rejectsWith, sandbox, tarStream } from './helpers.ts'

const ESCAPE = 'IMGSWARM_ERR_PATH_ESCAPE'
const THROUGH = 'IMGSWARM_ERR_PATH_THROUGH_SYMLINK'
const HARDLINK = 'IMGSWARM_ERR_HARDLINK'
const TOO_LONG = 'IMGSWARM_ERR_NAME_TOO_LONG'

describe('hostile archives', () => {
  it('refuses a ../ path', async () => {
    const sb = await sandbox()
    const tar = await tarStream([{ name: '../outside/evil', data: 'x' }])
    const err = await rejectsWith(extract(tar, sb.target), ESCAPE)
    expect(err.message).toContain('../outside/evil')
    await sb.assertUntouched()
  })

  it('refuses a ../ hidden in the middle of a path', async () => {
    const sb = await sandbox()
    const tar = await tarStream([
      { name: 'a/', type: 'directory' },
      { name: 'a/../../outside/evil', data: 'x' },
    ])
    await rejectsWith(extract(tar, sb.target), ESCAPE)
    await sb.assertUntouched()
  })

  it('refuses an absolute path', async () => {
    const sb = await sandbox()
    const abs = join(sb.outside, 'abs-evil')
    const tar = await tarStream([{ name: abs, data: 'x' }])
    await rejectsWith(extract(tar, sb.target), ESCAPE)
    expect(existsSync(abs)).toBe(false)
    await sb.assertUntouched()
  })

  it('refuses a NUL byte in a path', async () => {
    const sb = await sandbox()
    // Long enough to go into a pax record: a ustar field would simply end at the NUL.
    const tar = rawTar([{ path: Buffer.from(`ok\0../../outside/${'x'.repeat(120)}`), data: Buffer.from('x') }])
    await rejectsWith(extract(tar, sb.target), ESCAPE)
    await sb.assertUntouched()
  })

  for (const [label, linkname] of [
    ['relative', '../outside'],
    ['absolute', 'ABS'],
  ] as const) {
    it(`refuses to write through a symlink to a ${label} directory outside`, async () => {
      const sb = await sandbox()
      const tar = await tarStream([
        { name: 'link', type: 'symlink', linkname: linkname === 'ABS' ? sb.outside : linkname },
        { name: 'link/file', data: 'pwned' },
      ])
      await rejectsWith(extract(tar, sb.target), THROUGH)
      expect(existsSync(join(sb.outside, 'file'))).toBe(false)
      await sb.assertUntouched()
    })
  }

  it('refuses to create a directory through a symlink', async () => {
    const sb = await sandbox()
    const tar = await tarStream([
      { name: 'link', type: 'symlink', linkname: '../outside' },
      { name: 'link/sub/', type: 'directory' },
    ])
    await rejectsWith(extract(tar, sb.target), THROUGH)
    await sb.assertUntouched()
  })

  it('refuses a symlink to the parent (up -> ..) then up/x', async () => {
    const sb = await sandbox()
    const tar = await tarStream([
      { name: 'up', type: 'symlink', linkname: '..' },
      { name: 'up/x', data: 'pwned' },
    ])
    await rejectsWith(extract(tar, sb.target), THROUGH)
    expect(existsSync(join(sb.base, 'x'))).toBe(false)
    await sb.assertUntouched()
  })

  it('refuses a write under a directory that a later symlink replaced', async () => {
    const sb = await sandbox()
    const tar = await tarStream([
      { name: 'd/', type: 'directory' },
      { name: 'd/a', data: 'fine' },
      { name: 'd', type: 'symlink', linkname: '../outside' },
      { name: 'd/victim', data: 'pwned' },
    ])
    await rejectsWith(extract(tar, sb.target), THROUGH)
    await sb.assertUntouched()
  })

  it('refuses a hard link to ../outside/secret', async () => {
    const sb = await sandbox()
    const tar = await tarStream([{ name: 'h', type: 'link', linkname: '../outside/secret' }])
    await rejectsWith(extract(tar, sb.target), HARDLINK)
    expect(existsSync(join(sb.target, 'h'))).toBe(false)
    await sb.assertUntouched()
  })

  it('refuses a hard link to /etc/passwd', async () => {
    const sb = await sandbox()
    const nlink = statSync('/etc/passwd').nlink
    const tar = await tarStream([{ name: 'passwd', type: 'link', linkname: '/etc/passwd' }])
    await rejectsWith(extract(tar, sb.target), HARDLINK)
    expect(existsSync(join(sb.target, 'passwd'))).toBe(false)
    expect(statSync('/etc/passwd').nlink).toBe(nlink)
    await sb.assertUntouched()
  })

  it('refuses a hard link to a symlink inside the root that points outside', async () => {
    const sb = await sandbox()
    const tar = await tarStream([
      { name: 's', type: 'symlink', linkname: '../outside/secret' },
      { name: 'h', type: 'link', linkname: 's' },
    ])
    const err = await rejectsWith(extract(tar, sb.target), HARDLINK)
    expect(err.message).toContain('symlink')
    expect(existsSync(join(sb.target, 'h'))).toBe(false)
    await sb.assertUntouched()
  })

  it('refuses a hard link whose target path goes through a symlink', async () => {
    const sb = await sandbox()
    const tar = await tarStream([
      { name: 'dir', type: 'symlink', linkname: '../outside' },
      { name: 'h', type: 'link', linkname: 'dir/secret' },
    ])
    await rejectsWith(extract(tar, sb.target), HARDLINK)
    await sb.assertUntouched()
  })

  it('refuses a pax header declaring more than 1 MiB (raw bytes, no body needed)', async () => {
    const sb = await sandbox()
    // A pax header block claiming 2 MiB: the reader must refuse before buffering it.
    const head = encodeHeader({
      path: Buffer.from('./x'),
      type: 'file',
      mode: 0o644,
      uid: 0,
      gid: 0,
      size: 0,
      mtime: 0,
      linkpath: Buffer.alloc(0),
      devmajor: 0,
      devminor: 0,
      xattrs: new Map([['user.a', Buffer.from('a')]]),
    })
    const pax = Buffer.from(head.subarray(0, 512))
    pax.write('00010000000\0', 124, 'latin1') // size = 2 MiB
    pax.fill(0x20, 148, 156)
    let sum = 0
    for (const b of pax) sum += b
    pax.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1')
    const tar = Buffer.concat([pax, Buffer.alloc(4096)])
    await rejectsWith(extract(tar, sb.target), 'IMGSWARM_ERR_HEADER_TOO_LARGE')
    await sb.assertUntouched()
  })

  it('refuses a real pax header of 1.5 MiB (a huge path record)', async () => {
    const sb = await sandbox()
    const tar = rawTar([{ path: Buffer.from(`./${'a/'.repeat(768 * 1024)}f`), data: Buffer.from('x') }])
    await rejectsWith(extract(tar, sb.target), 'IMGSWARM_ERR_HEADER_TOO_LARGE')
    await sb.assertUntouched()
  })

  it('refuses a GNU long name past the limit given in options', async () => {
    const sb = await sandbox()
    const tar = rawTar([{ path: `./${'n'.repeat(200)}`, data: Buffer.from('x') }])
    await rejectsWith(extract(tar, sb.target, { limits: { maxExtendedHeader: 100 } }), 'IMGSWARM_ERR_HEADER_TOO_LARGE')
    await sb.assertUntouched()
  })

  describe('truncated archives', () => {
    const whole = async () =>
      tarStream([
        { name: 'a', data: Buffer.alloc(10_000, 1) },
        { name: 'b', data: Buffer.alloc(3000, 2) },
      ])

    it('throws when cut in the middle of file data', async () => {
      const sb = await sandbox()
      const tar = (await whole()).subarray(0, 512 + 5000)
      await rejectsWith(extract(tar, sb.target), 'IMGSWARM_ERR_ARCHIVE_TRUNCATED')
      await sb.assertUntouched()
    })

    it('throws when cut in the middle of a header', async () => {
      const sb = await sandbox()
      const secondHeader = 512 + 10_240
      const tar = (await whole()).subarray(0, secondHeader + 100)
      await rejectsWith(extract(tar, sb.target), 'IMGSWARM_ERR_ARCHIVE_TRUNCATED')
      await sb.assertUntouched()
    })

    it('throws when the end-of-archive marker is missing', async () => {
      const sb = await sandbox()
      const tar = (await whole()).subarray(0, 512 + 10_240 + 512 + 3072)
      await rejectsWith(extract(tar, sb.target), 'IMGSWARM_ERR_ARCHIVE_TRUNCATED')
      await sb.assertUntouched()
    })

    it('throws on a corrupt header checksum', async () => {
      const sb = await sandbox()
      const tar = Buffer.from(await whole())
      tar[10_752 + 3] = 0x7a // inside the second header's name
      await rejectsWith(extract(tar, sb.target), 'IMGSWARM_ERR_ARCHIVE_CORRUPT')
      await sb.assertUntouched()
    })
  })

  it('replaces a symlink by a later file entry without following it', async () => {
    const sb = await sandbox()
    const tar = await tarStream([
      { name: 'f', type: 'symlink', linkname: '../outside/victim' },
      { name: 'f', data: 'inside\n' },
      { name: 'g', type: 'symlink', linkname: join(sb.outside, 'victim') },
      { name: 'g', data: 'inside too\n' },
    ])
    await extract(tar, sb.target)
    expect((await lstat(join(sb.target, 'f'))).isFile()).toBe(true)
    expect(await readFile(join(sb.target, 'f'), 'utf8')).toBe('inside\n')
    expect(await readFile(join(sb.target, 'g'), 'utf8')).toBe('inside too\n')
    expect(await readFile(join(sb.outside, 'victim'), 'utf8')).toBe('original\n')
    await sb.assertUntouched()
  })

  it('replaces a symlink by a later directory entry without following it', async () => {
    const sb = await sandbox()
    const tar = await tarStream([
      { name: 'd', type: 'symlink', linkname: '../outside' },
      { name: 'd/', type: 'directory' },
      { name: 'd/f', data: 'inside\n' },
    ])
    await extract(tar, sb.target)
    expect((await lstat(join(sb.target, 'd'))).isDirectory()).toBe(true)
    expect(await readFile(join(sb.target, 'd/f'), 'utf8')).toBe('inside\n')
    await sb.assertUntouched()
  })

  it('creates device nodes and a fifo inside the target (legitimate), with their numbers', async () => {
    const sb = await sandbox()
    const tar = await tarStream([
      { name: 'dev/', type: 'directory' },
      { name: 'dev/null', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666 },
      { name: 'dev/loop9', type: 'block-device', devmajor: 7, devminor: 9, mode: 0o660, gid: 6 },
      { name: 'dev/big', type: 'character-device', devmajor: 240, devminor: 70_000, mode: 0o600 },
      { name: 'dev/initctl', type: 'fifo', mode: 0o600 },
    ])
    await extract(tar, sb.target)
    const nul = await lstat(join(sb.target, 'dev/null'))
    expect(nul.isCharacterDevice()).toBe(true)
    expect(nul.rdev).toBe(makedev(1, 3))
    expect(nul.mode & 0o7777).toBe(0o666)
    const loop = await lstat(join(sb.target, 'dev/loop9'))
    expect(loop.isBlockDevice()).toBe(true)
    expect(loop.rdev).toBe(makedev(7, 9))
    expect(loop.gid).toBe(6)
    expect((await lstat(join(sb.target, 'dev/big'))).rdev).toBe(makedev(240, 70_000))
    expect((await lstat(join(sb.target, 'dev/initctl'))).isFIFO()).toBe(true)
    await sb.assertUntouched()
  })

  it('refuses device nodes and fifos at escaping paths', async () => {
    for (const entries of [
      [{ name: '../outside/null', type: 'character-device' as const, devmajor: 1, devminor: 3 }],
      [
        { name: 'dev', type: 'symlink' as const, linkname: '../outside' },
        { name: 'dev/null', type: 'character-device' as const, devmajor: 1, devminor: 3 },
      ],
      [
        { name: 'dev', type: 'symlink' as const, linkname: '../outside' },
        { name: 'dev/fifo', type: 'fifo' as const },
      ],
    ]) {
      const sb = await sandbox()
      await expect(extract(await tarStream(entries), sb.target)).rejects.toMatchObject({
        code: expect.stringMatching(/PATH_ESCAPE|PATH_THROUGH_SYMLINK/),
      })
      await sb.assertUntouched()
    }
  })

  it('refuses a name component longer than 255 bytes', async () => {
    const sb = await sandbox()
    const tar = await tarStream([{ name: `d/${'n'.repeat(256)}`, data: 'x' }])
    await rejectsWith(extract(tar, sb.target), TOO_LONG)
    await sb.assertUntouched()
  })

  it('refuses a path longer than 4096 bytes', async () => {
    const sb = await sandbox()
    const name = Array.from({ length: 42 }, () => 'p'.repeat(99)).join('/')
    expect(name.length).toBeGreaterThan(PATH_MAX)
    const tar = await tarStream([{ name, data: 'x' }])
    await rejectsWith(extract(tar, sb.target), TOO_LONG)
    await sb.assertUntouched()
  })

  it('refuses a path that only becomes too long under the target', async () => {
    const sb = await sandbox()
    const name = [...Array.from({ length: 40 }, () => 'q'.repeat(100)), 'q'.repeat(50)].join('/')
    expect(name.length).toBeLessThanOrEqual(PATH_MAX)
    const tar = await tarStream([{ name, data: 'x' }])
    await rejectsWith(extract(tar, sb.target), TOO_LONG)
    await sb.assertUntouched()
  })

  it('refuses a symlink target with a NUL byte or over PATH_MAX', async () => {
    for (const linkpath of [Buffer.from(`a\0${'b'.repeat(200)}`), Buffer.alloc(PATH_MAX, 0x61)]) {
      const sb = await sandbox()
      const tar = rawTar([{ path: 's', type: 'symlink', linkpath }])
      await expect(extract(tar, sb.target)).rejects.toMatchObject({ code: expect.stringMatching(/ESCAPE|TOO_LONG/) })
      expect(existsSync(join(sb.target, 's'))).toBe(false)
      await sb.assertUntouched()
    }
  })

  it('refuses a non-directory entry for the root itself', async () => {
    const sb = await sandbox()
    const tar = await tarStream([{ name: './', type: 'symlink', linkname: '../outside' }])
    await rejectsWith(extract(tar, sb.target), ESCAPE)
    expect((await lstat(sb.target)).isDirectory()).toBe(true)
    await sb.assertUntouched()
  })

  it('refuses a global pax header (it could re-path every later entry)', async () => {
    const sb = await sandbox()
    const recs = encodePaxRecords([['path', Buffer.from('../outside/evil')]])
    const g = Buffer.from(rawTar([{ path: 'g', data: recs }], false))
    g[156] = 0x67 // 'g'
    g.fill(0x20, 148, 156)
    let sum = 0
    for (const b of g.subarray(0, 512)) sum += b
    g.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1')
    const tar = Buffer.concat([g, rawTar([{ path: 'x', data: Buffer.from('x') }])])
    await rejectsWith(extract(tar, sb.target), 'IMGSWARM_ERR_UNSUPPORTED_ENTRY')
    await sb.assertUntouched()
  })

  it('refuses xattrs in no known namespace, and oversized ones', async () => {
    for (const [k, v] of [
      ['evil.name', Buffer.from('x')],
      ['user.big', Buffer.alloc(70_000)],
    ] as const) {
      const sb = await sandbox()
      const tar = rawTar([{ path: 'f', data: Buffer.from('x'), xattrs: new Map([[k, v]]) }])
      await rejectsWith(extract(tar, sb.target), 'IMGSWARM_ERR_UNSUPPORTED_ENTRY')
      await sb.assertUntouched()
    }
  })

  it('sets an xattr whose name could confuse setfattr --restore on the file only', async () => {
    const sb = await sandbox()
    // A newline in the name would start a new "# file:" section if it were not handled.
    const name = `user.a=0x00\n# file: ${join(sb.outside, 'victim')}\nuser.x`
    const tar = rawTar([{ path: 'f', data: Buffer.from('x'), xattrs: new Map([[name, Buffer.from('v')]]) }])
    await extract(tar, sb.target).catch(() => undefined)
    await sb.assertUntouched()
    const { spawnSync } = await import('node:child_process')
    const r = spawnSync('getfattr', ['-d', '-m', '-', join(sb.outside, 'victim')], { encoding: 'utf8' })
    expect(r.stdout).toBe('')
  })

  it('stops at the first bad entry and leaves the earlier ones inside the target only', async () => {
    const sb = await sandbox()
    const tar = await tarStream([
      { name: 'ok', data: 'fine' },
      { name: '../outside/evil', data: 'x' },
      { name: 'never', data: 'x' },
    ])
    await rejectsWith(extract(tar, sb.target), ESCAPE)
    expect(existsSync(join(sb.target, 'ok'))).toBe(true)
    expect(existsSync(join(sb.target, 'never'))).toBe(false)
    await sb.assertUntouched()
  })

  it('leaves a symlink pointing outside as a symlink (verbatim) and never follows it later', async () => {
    const sb = await sandbox()
    const tar = await tarStream([
      { name: 'l', type: 'symlink', linkname: '../outside/victim' },
      { name: 'h', type: 'link', linkname: 'l' },
    ])
    await rejectsWith(extract(tar, sb.target), HARDLINK)
    expect(await readlink(join(sb.target, 'l'))).toBe('../outside/victim')
    await sb.assertUntouched()
  })
})
