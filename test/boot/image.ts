// The small bootable test image of the end-to-end test, made from the same
// Debian packages as the boot image: the linux-image kernel, a tiny initrd
// (static busybox and the virtio and ext4 modules, so it can mount its root
// from a virtio disk by UUID), and a root tree whose /sbin/init prints a
// marker with the host name the install client wrote, then powers off.
import { createWriteStream } from 'node:fs'
import { chmod, copyFile, mkdir, readFile, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { createGzip } from 'node:zlib'
import { followDependency, KERNEL_PACKAGE, PACKAGES } from '../../initramfs/contents.ts'
import {
  addBusybox,
  baseFiles,
  fetchPackages,
  kernelVersion,
  resolvePackages,
  Tree,
  unpackPackages,
  withCacheLock,
  writeCpio,
} from '../../initramfs/index.ts'
import { ensureModulesDep, moduleName } from '../../initramfs/modules.ts'

export const MARKER = 'IMGSWARM-TEST-IMAGE-BOOTED'
/** Modules the test image's initrd loads to find its root: virtio disk, ext4. */
const ROOT_MODULES = ['virtio_pci', 'virtio_blk', 'crc32c_generic', 'ext4']

const INITRD_INIT = `#!/bin/sh
# test image initrd: load the disk and file system drivers, mount root=UUID=..., switch to it.
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for m in $(cat /etc/load-modules); do insmod "/lib/modules/$m" 2>/dev/null; done
root=
for w in $(cat /proc/cmdline); do case "$w" in root=*) root=\${w#root=} ;; esac; done
i=0
until dev=$(findfs "$root" 2>/dev/null); do
  i=$((i + 1))
  if [ "$i" -gt 150 ]; then echo "test image initrd: root $root not found" >/dev/ttyS0; exec sh; fi
  sleep 0.2
done
mkdir -p /newroot
mount -t ext4 -o ro "$dev" /newroot || { echo "test image initrd: cannot mount $dev" >/dev/ttyS0; exec sh; }
mount --move /dev /newroot/dev
umount /proc /sys
exec switch_root /newroot /sbin/init
`

const ROOT_INIT = `#!/bin/sh
# test image init: say who we are on the serial console, then power off.
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
h=$(cat /etc/hostname)
for c in /dev/ttyS0 /dev/console; do echo "${MARKER} hostname=$h" >"$c" 2>/dev/null; done
sync
poweroff -f
`

/** Modules in load order (dependencies first), as paths under /lib/modules. */
async function loadOrder(sysroot: string, kernel: string, names: string[]): Promise<string[]> {
  const dep = await readFile(join(sysroot, 'lib/modules', kernel, 'modules.dep'), 'utf8')
  const byName = new Map<string, { path: string; deps: string[] }>()
  for (const line of dep.split('\n')) {
    const m = line.match(/^([^:]+):\s*(.*)$/)
    if (m)
      byName.set(moduleName(m[1] as string), {
        path: m[1] as string,
        deps: (m[2] as string).split(/\s+/).filter(Boolean),
      })
  }
  const out: string[] = []
  const visit = (path: string) => {
    if (out.includes(path)) return
    const d = byName.get(moduleName(path))
    for (const p of [...(d?.deps ?? [])].reverse()) visit(p)
    out.push(path)
  }
  for (const n of names) {
    const d = byName.get(n)
    if (d) visit(d.path) // absent: built into this kernel
  }
  return out
}

/**
 * Writes the test image's root tree into `dir` (imported into the store by
 * the caller). `cacheDir` is shared with `boot build`, so the packages are
 * downloaded and unpacked once.
 */
export async function buildTestImage(dir: string, cacheDir: string): Promise<{ kernel: string }> {
  // The boot image's package set: the same sysroot (cached), with kmod for depmod. Another test
  // file may be building the boot image from the same cache meanwhile: one at a time.
  await mkdir(cacheDir, { recursive: true })
  return withCacheLock(
    cacheDir,
    () => {},
    () => build(dir, cacheDir),
  )
}

async function build(dir: string, cacheDir: string): Promise<{ kernel: string }> {
  const pkgs = await resolvePackages([...PACKAGES, KERNEL_PACKAGE], followDependency)
  await fetchPackages(pkgs, cacheDir)
  const sysroot = await unpackPackages(pkgs, cacheDir, 'boot')
  const kernel = await kernelVersion(sysroot)
  await ensureModulesDep(sysroot, kernel)
  const order = await loadOrder(sysroot, kernel, ROOT_MODULES)

  const initrd = new Tree()
  baseFiles(initrd)
  await addBusybox(initrd, sysroot)
  for (const p of order) await initrd.file(`/lib/modules/${p}`, join(sysroot, 'lib/modules', kernel, p), 0o644)
  initrd.data('/etc/load-modules', `${order.join('\n')}\n`)
  initrd.data('/init', INITRD_INIT, 0o755)

  for (const d of ['boot', 'bin', 'sbin', 'etc', 'proc', 'sys', 'dev', 'tmp', 'run', 'root']) {
    await mkdir(join(dir, d), { recursive: true })
  }
  await chmod(join(dir, 'tmp'), 0o1777)
  await copyFile(join(sysroot, 'boot', `vmlinuz-${kernel}`), join(dir, 'boot', `vmlinuz-${kernel}`))
  const gz = createGzip({ level: 9 })
  const written = pipeline(gz, createWriteStream(join(dir, 'boot', `initrd.img-${kernel}`)))
  await writeCpio(initrd, gz, 0)
  gz.end()
  await written
  await copyFile(join(sysroot, 'bin/busybox'), join(dir, 'bin/busybox'))
  await chmod(join(dir, 'bin/busybox'), 0o755)
  for (const a of ['sh', 'mount', 'umount', 'cat', 'echo', 'sync', 'ls']) await symlink('busybox', join(dir, 'bin', a))
  await symlink('../bin/busybox', join(dir, 'sbin/poweroff'))
  await writeFile(join(dir, 'sbin/init'), ROOT_INIT, { mode: 0o755 })
  await writeFile(join(dir, 'etc/hostname'), 'golden\n')
  await writeFile(join(dir, 'etc/hosts'), '127.0.0.1\tlocalhost\n')
  await writeFile(join(dir, 'etc/fstab'), '# written by the install client\n')
  return { kernel }
}
