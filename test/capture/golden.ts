// The golden client's disk for the capture tests: a loop disk with a GPT
// table (an ext4 /boot and an ext4 root), mounted under a temp dir the way a client
// mounts its disk, plus mounts that must not be captured (a tmpfs, a bind
// mount of its own files). stop() unmounts and detaches even after a failure.
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { chmod, chown, link, mkdir, symlink, truncate, writeFile } from 'node:fs/promises'
import { join } from 'node:path'

const PATH = `${process.env.PATH ?? ''}:/usr/sbin:/sbin`

export function sh(tool: string, args: string[], input?: string): string {
  return execFileSync(tool, args, {
    encoding: 'utf8',
    env: { ...process.env, PATH, LC_ALL: 'C' },
    input,
    stdio: 'pipe',
  })
}

export interface Golden {
  root: string
  disk: string
  stop(): void
}

export async function makeGolden(dir: string): Promise<Golden> {
  const img = join(dir, 'golden-disk.img')
  await writeFile(img, '')
  await truncate(img, 160 * 1024 * 1024)
  const root = join(dir, 'golden')
  const mounted: string[] = []
  let disk: string | undefined
  const stop = () => {
    for (const m of mounted.reverse()) {
      try {
        sh('umount', [m])
      } catch {
        try {
          sh('umount', ['-l', m])
        } catch {}
      }
    }
    mounted.length = 0
    if (disk !== undefined) {
      try {
        sh('losetup', ['-d', disk])
      } catch {}
      disk = undefined
    }
  }
  try {
    disk = sh('losetup', ['-f', '--show', '-P', img]).trim()
    sh('sfdisk', ['-q', disk], 'label: gpt\nsize=40MiB, type=L, name=boot\ntype=L, name=rootfs\n')
    sh('partx', ['-u', disk])
    const boot = `${disk}p1`
    const rootDev = `${disk}p2`
    // No udev here: devtmpfs makes the partition nodes a moment after the kernel reads the table.
    for (let i = 0; i < 200 && !(existsSync(boot) && existsSync(rootDev)); i++)
      await new Promise((r) => setTimeout(r, 50))
    // An ext4 /boot, not an ESP: this kernel may lack vfat (the ESP case is in plan.test.ts).
    sh('mkfs.ext4', ['-q', '-F', '-L', 'boot', boot])
    sh('mkfs.ext4', ['-q', '-F', '-L', 'rootfs', rootDev])
    await mkdir(root)
    sh('mount', [rootDev, root])
    mounted.push(root)
    const w = async (rel: string, data: string | Buffer, mode = 0o644) => {
      await mkdir(join(root, rel, '..'), { recursive: true })
      await writeFile(join(root, rel), data)
      await chmod(join(root, rel), mode)
    }
    await w('etc/hostname', 'golden\n')
    await w('etc/machine-id', '0123456789abcdef0123456789abcdef\n', 0o444)
    await w('etc/ssh/ssh_host_ed25519_key', 'PRIVATE\n', 0o600)
    await w('etc/ssh/ssh_host_ed25519_key.pub', 'PUBLIC\n')
    await w('etc/ssh/sshd_config', 'Port 22\n')
    await w('usr/bin/suid-tool', '#!/bin/sh\n', 0o4755)
    await chown(join(root, 'usr/bin/suid-tool'), 1234, 5678)
    await chmod(join(root, 'usr/bin/suid-tool'), 0o4755) // chown clears setuid
    await w('usr/lib/big.bin', Buffer.alloc(256 * 1024, 7))
    await w('usr/lib/changes.txt', 'first\n')
    await link(join(root, 'usr/lib/big.bin'), join(root, 'usr/lib/big-link.bin'))
    await symlink('../lib/big.bin', join(root, 'usr/bin/big'))
    sh('setfattr', ['-n', 'user.imgswarm', '-v', 'kept', join(root, 'etc/hostname')])
    sh('mkfifo', [join(root, 'usr/lib/fifo')])
    await w('tmp/junk', 'tmp\n')
    await w('var/tmp/junk', 'var tmp\n')
    await w('proc/junk', 'not proc\n')
    await w('swapfile', Buffer.alloc(4096))
    await w('srv/cache/blob', 'cache\n')
    await w('srv/data/file', 'data\n')
    await mkdir(join(root, 'run'))
    await mkdir(join(root, 'boot'))
    sh('mount', [boot, join(root, 'boot')])
    mounted.push(join(root, 'boot'))
    await w('boot/vmlinuz', 'kernel\n')
    // Not disk file systems of the client, or already captured: left out.
    await mkdir(join(root, 'mnt/scratch'), { recursive: true })
    sh('mount', ['-t', 'tmpfs', 'tmpfs', join(root, 'mnt/scratch')])
    mounted.push(join(root, 'mnt/scratch'))
    await writeFile(join(root, 'mnt/scratch/in-tmpfs'), 'x\n')
    await mkdir(join(root, 'mnt/bind'), { recursive: true })
    sh('mount', ['--bind', join(root, 'srv/data'), join(root, 'mnt/bind')])
    mounted.push(join(root, 'mnt/bind'))
    return { root, disk, stop }
  } catch (e) {
    stop()
    throw e
  }
}
