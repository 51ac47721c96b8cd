// Building blocks of a boot image tree: the base directories and /etc files,
// busybox and its applet links, whole data folders from the packages, and the
// shared libraries of every program in the tree.
import { execFile } from 'node:child_process'
import { lstat, readdir } from 'node:fs/promises'
import { posix } from 'node:path'
import { promisify } from 'node:util'
import { errors } from '../common/errors.ts'
import type { ProgressFactory } from './apt.ts'
import { neededLibraries } from './libs.ts'
import type { Tree } from './tree.ts'

const run = promisify(execFile)

/** Directories, device nodes and the /etc files every boot image needs. */
export function baseFiles(tree: Tree): void {
  for (const d of [
    '/bin',
    '/sbin',
    '/usr/bin',
    '/usr/sbin',
    '/lib',
    '/etc',
    '/proc',
    '/sys',
    '/dev',
    '/run',
    '/mnt',
    '/var',
  ])
    tree.dir(d)
  tree.dir('/root', 0o700)
  tree.dir('/tmp', 0o1777)
  tree.dir('/var/tmp', 0o1777)
  tree.symlink('/var/run', '/run')
  // Opened by the kernel for init's stdin/stdout/stderr before anything is mounted.
  tree.chardev('/dev/console', 5, 1, 0o600)
  tree.chardev('/dev/null', 1, 3, 0o666)
  tree.data('/etc/passwd', 'root:x:0:0:root:/root:/bin/sh\n')
  tree.data('/etc/shadow', 'root:*:1::::::\n', 0o600)
  tree.data('/etc/group', 'root:x:0:\ntty:x:5:\ndisk:x:6:\n')
  tree.data('/etc/nsswitch.conf', 'passwd: files\ngroup: files\nhosts: files dns\n')
  tree.data('/etc/hosts', '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n')
  tree.data('/etc/resolv.conf', '')
  tree.symlink('/etc/mtab', '/proc/self/mounts')
}

/** Static busybox at /bin/busybox and a link for each applet where no real program sits. */
export async function addBusybox(tree: Tree, sysroot: string): Promise<number> {
  await tree.fromRoot(sysroot, '/bin/busybox')
  let list: string
  try {
    list = (await run(`${sysroot}/bin/busybox`, ['--list-full'], { env: {} })).stdout
  } catch (e) {
    throw errors.bootBuild(`busybox --list-full failed: ${String(e)}`)
  }
  let n = 0
  for (const applet of list.split('\n').filter(Boolean).sort()) {
    if (tree.symlink(`/${applet}`, '/bin/busybox', false)) n++
  }
  return n
}

/** Every file and link under `dir` in the package tree. */
export async function addTreeFromRoot(tree: Tree, sysroot: string, dir: string): Promise<void> {
  const walk = async (d: string): Promise<void> => {
    for (const name of (await readdir(sysroot + d)).sort()) {
      const p = posix.join(d, name)
      const st = await lstat(sysroot + p)
      if (st.isDirectory()) await walk(p)
      else await tree.fromRoot(sysroot, p)
    }
  }
  await tree.fromRoot(sysroot, dir)
  await walk(dir)
}

/** Adds the shared libraries of every ELF file in the tree (resolved in the sysroot). Returns how many. */
export async function addLibraries(tree: Tree, sysroot: string, progress?: ProgressFactory): Promise<number> {
  const files = tree
    .sorted()
    .filter(([p, e]) => e.kind === 'file' && e.source !== undefined && !p.endsWith('.ko') && !p.includes('/lib/grub/'))
  // GRUB's platform folders hold modules for the target machine, not host programs; their one host program is grub-bios-setup.
  for (const [p, e] of tree.sorted()) if (p.endsWith('/grub-bios-setup') && e.kind === 'file') files.push([p, e])
  const bar = progress?.('libraries (ldd)', files.length)
  const libs = new Set<string>()
  let i = 0
  for (const [path, e] of files) {
    if (e.kind !== 'file' || e.source === undefined) continue
    for (const l of await neededLibraries(sysroot, e.source, path)) libs.add(l)
    bar?.update(++i)
  }
  for (const l of [...libs].sort()) await tree.fromRoot(sysroot, l)
  bar?.finish(`libraries (ldd): ${files.length} files need ${libs.size} libraries`)
  return libs.size
}

/**
 * The newest mtime (seconds) of the packages' own files (their /boot files and
 * /usr/share/doc/PKG/ files, as dpkg -x set them from the .deb): the default
 * fixed archive time, a function of the package versions only.
 */
export async function newestMtime(sysroot: string): Promise<number> {
  let newest = 0
  const consider = async (p: string) => {
    const st = await lstat(p)
    if (st.isFile()) newest = Math.max(newest, Math.floor(st.mtimeMs / 1000))
  }
  for (const name of await readdir(`${sysroot}/boot`).catch(() => [] as string[]))
    await consider(`${sysroot}/boot/${name}`)
  for (const pkg of await readdir(`${sysroot}/usr/share/doc`).catch(() => [] as string[])) {
    const d = `${sysroot}/usr/share/doc/${pkg}`
    if (!(await lstat(d)).isDirectory()) continue
    for (const name of await readdir(d)) await consider(`${d}/${name}`)
  }
  return newest
}
