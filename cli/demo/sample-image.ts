// The demo's sample system image: a few hundred files in a Debian-like
// layout, some MB of incompressible data, a fake kernel (so a disk install
// gets a bootloader), and optionally a static busybox with a post-install
// script (so the chroot step really runs). Plus the `site` override.
import { randomFillSync } from 'node:crypto'
import { existsSync } from 'node:fs'
import { chmod, copyFile, link, mkdir, symlink, truncate, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'

/** The static busybox the post-install script runs with (Debian's busybox-static). */
export const BUSYBOX = '/bin/busybox'

export interface SampleInit {
  /** Megabytes (10^6) of file data, roughly. */
  dataMb: number
  /** Put /bin/busybox and a post-install script in (the chroot needs root). */
  postInstall: boolean
}

export interface SampleImage {
  files: number
  bytes: number
  /** Files a node must hold byte for byte after its install (relative paths). */
  checks: string[]
  /** What the override and the post-install script leave on each node. */
  motd: string
  postMark: string | undefined
}

export const POST_MARK = 'etc/imgswarm-demo-post-install'
export const SITE_MOTD = 'Reimaged by the imgswarm demo (override "site").\n'

function noise(bytes: number): Buffer {
  return randomFillSync(Buffer.allocUnsafe(bytes))
}

async function put(root: string, rel: string, data: string | Buffer, mode = 0o644): Promise<number> {
  const p = join(root, rel)
  await mkdir(dirname(p), { recursive: true })
  await writeFile(p, data)
  await chmod(p, mode)
  return typeof data === 'string' ? Buffer.byteLength(data) : data.length
}

/** Builds the image tree in `root` (which must not exist or be empty). */
export async function makeSampleImage(root: string, o: SampleInit): Promise<SampleImage> {
  const total = Math.max(1, o.dataMb) * 1e6
  let files = 0
  let bytes = 0
  const add = async (rel: string, data: string | Buffer, mode?: number) => {
    bytes += await put(root, rel, data, mode)
    files++
  }
  for (const d of ['dev', 'proc', 'sys', 'run', 'tmp', 'var/tmp', 'root', 'home']) {
    await mkdir(join(root, d), { recursive: true })
  }
  await chmod(join(root, 'tmp'), 0o1777)
  await chmod(join(root, 'var/tmp'), 0o1777)
  await add('etc/hostname', 'golden\n')
  await add('etc/hosts', '127.0.0.1\tlocalhost\n127.0.1.1\tgolden\n')
  await add('etc/machine-id', '0123456789abcdef0123456789abcdef\n')
  await add('etc/os-release', 'PRETTY_NAME="imgswarm demo image"\nNAME="imgswarm demo"\nID=imgswarm-demo\n')
  await add('etc/motd', 'golden image motd\n')
  await add('etc/fstab', '# the install writes this one\n')
  await add('etc/passwd', 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n')
  await add('etc/group', 'root:x:0:\nnogroup:x:65534:\n')
  await add('etc/ssh/sshd_config', 'PermitRootLogin prohibit-password\n')
  await add('etc/ssh/ssh_host_ed25519_key', 'GOLDEN-PRIVATE-KEY\n', 0o600)
  await add('etc/ssh/ssh_host_ed25519_key.pub', 'ssh-ed25519 GOLDEN\n')
  // A kernel and initrd by their Debian names: a disk install needs a kernel for GRUB.
  await add('boot/vmlinuz-6.1.0-demo', noise(Math.round(total * 0.06)))
  await add('boot/initrd.img-6.1.0-demo', noise(Math.round(total * 0.1)))
  // Libraries: 200 files of varied sizes, about half the data.
  const libs = 200
  const libBytes = total * 0.5
  for (let i = 0; i < libs; i++) {
    const size = Math.max(512, Math.round((libBytes / libs) * (0.25 + (1.5 * i) / libs)))
    await add(`usr/lib/x86_64-linux-gnu/libdemo${String(i).padStart(3, '0')}.so.1`, noise(size))
  }
  // Documentation: 120 small text files.
  for (let i = 0; i < 120; i++) {
    await add(
      `usr/share/doc/pkg${String(i).padStart(3, '0')}/README`,
      `Package ${i} of the imgswarm demo image.\n`.repeat(20 + (i % 40)),
    )
  }
  // Two big files for the rest.
  const rest = Math.max(1024, Math.round((total - bytes) / 2))
  await add('var/lib/demo/data0.bin', noise(rest))
  await add('var/lib/demo/data1.bin', noise(rest))
  // Entries a system image has: setuid, hard link, symlinks, a sparse file.
  await add('usr/bin/demo-tool', '#!/bin/sh\necho demo\n', 0o755)
  await add('usr/bin/demo-suid', '#!/bin/sh\necho setuid\n', 0o4755)
  await link(join(root, 'usr/bin/demo-tool'), join(root, 'usr/bin/demo-tool-hardlink'))
  await symlink('/usr/bin/demo-tool', join(root, 'usr/bin/demo'))
  await symlink('../lib/demo', join(root, 'var/demo'))
  await writeFile(join(root, 'var/lib/demo/sparse.img'), '')
  await truncate(join(root, 'var/lib/demo/sparse.img'), 16 << 20)
  files += 4

  let postMark: string | undefined
  if (o.postInstall && existsSync(BUSYBOX)) {
    await mkdir(join(root, 'bin'), { recursive: true })
    await copyFile(BUSYBOX, join(root, 'bin/busybox'))
    await chmod(join(root, 'bin/busybox'), 0o755)
    for (const t of ['sh', 'cat', 'echo', 'date', 'uname']) await symlink('busybox', join(root, 'bin', t))
    await add(
      'etc/imgswarm/post-install/50-demo',
      '#!/bin/sh\n# Runs in a chroot of the freshly installed node.\n' +
        `echo "post-install ran on $IMGSWARM_HOSTNAME for $IMGSWARM_IMAGE@$IMGSWARM_VERSION" > /${POST_MARK}\n` +
        'cat /' +
        POST_MARK +
        '\n',
      0o755,
    )
    postMark = 'post-install ran on {node} for sample@1'
  }
  return {
    files,
    bytes,
    checks: ['var/lib/demo/data0.bin', 'usr/lib/x86_64-linux-gnu/libdemo007.so.1', 'usr/share/doc/pkg003/README'],
    motd: SITE_MOTD,
    postMark,
  }
}

/** The `site` override: files laid over the image on every node. */
export async function makeSiteOverride(root: string): Promise<void> {
  await put(root, 'etc/motd', SITE_MOTD)
  await put(root, 'etc/demo/site.conf', 'ntp = 10.0.0.1\nsyslog = 10.0.0.1\n')
}
