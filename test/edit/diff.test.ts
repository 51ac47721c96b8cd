// image diff on real trees in a real store: every kind of change is listed
// exactly once with what changed, unchanged entries are not, hard-linked files
// are never read, names that could fake lines are quoted, and the CLI's exit
// status follows diff(1) (0 same, 1 different, 2 trouble).
import { execFileSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { chmod, chown, lchown, mkdir, mkdtemp, rm, symlink, unlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type DiffStats, diffTrees, formatDiff } from '../../seeder/lifecycle/index.ts'
import { Store } from '../../seeder/store/store.ts'
import { cli } from '../support/cli.ts'
import { isRoot } from '../support/tmp.ts'

const newStats = (): DiffStats => ({ entries: 0, sameInode: 0, filesRead: 0, bytesRead: 0 })

async function base(root: string): Promise<void> {
  await mkdir(join(root, 'etc/sub'), { recursive: true })
  await mkdir(join(root, 'gone-dir/inner'), { recursive: true })
  await writeFile(join(root, 'etc/same'), 'unchanged\n')
  await writeFile(join(root, 'etc/content'), 'aaaa\n') // same size after the change: must be read
  await writeFile(join(root, 'etc/grown'), 'a\n')
  await writeFile(join(root, 'etc/mode'), 'm\n', { mode: 0o644 })
  await writeFile(join(root, 'etc/owner'), 'o\n')
  await writeFile(join(root, 'etc/removed'), 'r\n')
  await writeFile(join(root, 'gone-dir/inner/f'), 'f\n')
  await writeFile(join(root, 'becomes-dir'), 'file\n')
  await symlink('same', join(root, 'etc/link-same'))
  await symlink('old-target', join(root, 'etc/link'))
  await symlink('x', join(root, 'etc/link-owner'))
  await writeFile(join(root, 'etc/sub/deep'), 'deep\n')
  execFileSync('mknod', [join(root, 'null'), 'c', '1', '3'])
  execFileSync('mknod', [join(root, 'dev-changed'), 'c', '1', '5'])
  execFileSync('mkfifo', [join(root, 'fifo')])
}

async function change(root: string): Promise<void> {
  await writeFile(join(root, 'etc/content'), 'bbbb\n')
  await writeFile(join(root, 'etc/grown'), 'a longer line\n')
  await chmod(join(root, 'etc/mode'), 0o600)
  await chown(join(root, 'etc/owner'), 1000, 1000)
  await unlink(join(root, 'etc/removed'))
  await rm(join(root, 'gone-dir'), { recursive: true })
  await unlink(join(root, 'becomes-dir'))
  await mkdir(join(root, 'becomes-dir'))
  await unlink(join(root, 'etc/link'))
  await symlink('new-target', join(root, 'etc/link'))
  await lchown(join(root, 'etc/link-owner'), 7, 7)
  await writeFile(join(root, 'etc/added'), 'new\n')
  await unlink(join(root, 'dev-changed'))
  execFileSync('mknod', [join(root, 'dev-changed'), 'c', '1', '7'])
}

const EXPECTED = [
  'M becomes-dir (type file->dir)',
  'M dev-changed (device number)',
  '+ etc/added',
  'M etc/content (content)',
  'M etc/grown (content)',
  'M etc/link (target old-target->new-target)',
  'M etc/link-owner (owner 0:0->7:7)',
  'M etc/mode (mode 644->600)',
  'M etc/owner (owner 0:0->1000:1000)',
  '- etc/removed',
  '- gone-dir',
  '- gone-dir/inner',
  '- gone-dir/inner/f',
]

describe.skipIf(!isRoot)(`image diff${isRoot ? '' : ' (skipped: needs root for owners and mknod)'}`, () => {
  let dir: string
  let storeDir: string
  let store: Store

  beforeAll(async () => {
    dir = await mkdtemp(join(process.env.IMGSWARM_TEST_TMP ?? tmpdir(), 'imgswarm-diff-'))
    storeDir = join(dir, 'store')
    store = new Store(storeDir)
    const src = join(dir, 'src')
    await base(src)
    await store.import('image', src, 'img')
    await store.copy('image', 'img@1', 'img@2')
    await change(store.treeDir('image', 'img', '2'))
  })
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  it('lists exactly the changes, each with what changed, and nothing unchanged', async () => {
    const stats = newStats()
    const entries = await diffTrees(store.treeDir('image', 'img', '1'), store.treeDir('image', 'img', '2'), stats)
    expect(formatDiff(entries).trimEnd().split('\n')).toEqual(EXPECTED)
    // Two copies share no inode: the files of equal size are read (same, content, mode, owner,
    // sub/deep); etc/grown's size differs, so it is not.
    expect(stats.sameInode).toBe(0)
    expect(stats.filesRead).toBe(5)
  })

  it('the reverse diff mirrors it', async () => {
    const entries = await diffTrees(store.treeDir('image', 'img', '2'), store.treeDir('image', 'img', '1'))
    expect(entries.filter((e) => e.change === 'added').map((e) => e.path)).toEqual([
      'etc/removed',
      'gone-dir',
      'gone-dir/inner',
      'gone-dir/inner/f',
    ])
    expect(entries.filter((e) => e.change === 'removed').map((e) => e.path)).toEqual(['etc/added'])
    expect(entries.find((e) => e.path === 'etc/mode')?.details).toEqual(['mode 600->644'])
  })

  it('a hard-linked tree (capture --link-dest) is compared without reading the shared files', async () => {
    const a = store.treeDir('image', 'img', '1')
    const linked = join(dir, 'linked')
    execFileSync('cp', ['-al', a, linked])
    // One file replaced (a new inode), as rsync does for a changed file.
    await unlink(join(linked, 'etc/same'))
    await writeFile(join(linked, 'etc/same'), 'changed!!\n')
    const stats = newStats()
    const entries = await diffTrees(a, linked, stats)
    expect(formatDiff(entries)).toBe('M etc/same (content)\n')
    expect(stats.filesRead).toBe(1)
    expect(stats.bytesRead).toBe('unchanged\n'.length)
    // Every non-directory entry but the replaced one is the same inode in both.
    const nonDirs = execFileSync('find', [a, '!', '-type', 'd'], { encoding: 'utf8' }).trim().split('\n').length
    expect(stats.sameInode).toBe(nonDirs - 1)
  })

  it('a name with a newline is quoted, so it cannot fake a line of the listing', async () => {
    const x = join(dir, 'nl-a')
    const y = join(dir, 'nl-b')
    await mkdir(x)
    await mkdir(y)
    await writeFile(join(y, 'evil\n- passwd'), '')
    const out = formatDiff(await diffTrees(x, y))
    expect(out).toBe('+ "evil\\n- passwd"\n')
  })

  it('a name that is not UTF-8 is still found, read and compared (not a crash on a lost name)', async () => {
    const x = join(dir, 'latin-a')
    const y = join(dir, 'latin-b')
    await mkdir(x)
    await mkdir(y)
    const bad = (root: string, tail: number[]) => Buffer.concat([Buffer.from(`${root}/`), Buffer.from(tail)])
    writeFileSync(bad(x, [0x63, 0xe9]), 'one') // "c\xe9": latin1 é, invalid as UTF-8
    writeFileSync(bad(y, [0x63, 0xe9]), 'two')
    writeFileSync(bad(y, [0xff, 0x0a]), '')
    const entries = await diffTrees(x, y)
    expect(entries).toEqual([
      { path: 'c\ufffd', change: 'modified', details: ['content'] },
      { path: '\ufffd\n', change: 'added', details: [] },
    ])
    expect(formatDiff(entries)).toBe('M "c\ufffd" (content)\n+ "\ufffd\\n"\n')
  })

  it('CLI: exit 1 and the listing when different, --json with the changes, exit 0 when the same', () => {
    const r = cli(['image', 'diff', '--store', storeDir, 'img@1', '@2'])
    expect(r.stderr).toBe('')
    expect(r.status).toBe(1)
    expect(r.stdout.trimEnd().split('\n')).toEqual(EXPECTED)

    const j = cli(['image', 'diff', '--store', storeDir, '--json', 'img@1', 'img@2'])
    expect(j.status).toBe(1)
    const doc = JSON.parse(j.stdout)
    expect(doc).toMatchObject({ a: 'img@1', b: 'img@2', same: false })
    expect(doc.changes).toContainEqual({ path: 'etc/mode', change: 'modified', details: ['mode 644->600'] })
    expect(doc.changes).toHaveLength(EXPECTED.length)

    const same = cli(['image', 'diff', '--store', storeDir, 'img@2', 'img'])
    expect(same.status).toBe(0)
    expect(same.stdout).toBe('')
  })

  it('CLI: a version that does not exist is exit 2 (trouble), with the coded error', () => {
    const r = cli(['image', 'diff', '--store', storeDir, 'img@1', '@9'])
    expect(r.status).toBe(2)
    expect(r.stderr).toContain('IMGSWARM_ERR_NOT_FOUND')
    expect(r.stdout).toBe('')
  })
})
