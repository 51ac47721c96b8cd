// A small tree that holds every kind of entry a system image has, for the
// demo (and as an example of what the packer preserves).
import { spawnSync } from 'node:child_process'
import { chmod, chown, link, mkdir, open, symlink, utimes, writeFile } from 'node:fs/promises'
import { join } from 'node:path'

export async function makeSampleTree(root: string): Promise<string[]> {
  const notes: string[] = []
  const isRoot = process.getuid?.() === 0
  await mkdir(join(root, 'etc/ssh'), { recursive: true })
  await mkdir(join(root, 'usr/bin'), { recursive: true })
  await mkdir(join(root, 'var/lib/app'), { recursive: true })
  await mkdir(join(root, 'dev'), { recursive: true })
  await mkdir(join(root, 'tmp'), { recursive: true })
  await chmod(join(root, 'tmp'), 0o1777)
  await writeFile(join(root, 'etc/hostname'), 'golden\n')
  await writeFile(join(root, 'etc/os-release'), 'NAME="imgswarm sample"\nID=sample\n')
  await writeFile(join(root, 'etc/ssh/sshd_config'), 'PermitRootLogin prohibit-password\n')
  await writeFile(join(root, 'usr/bin/tool'), '#!/bin/sh\necho tool\n')
  await chmod(join(root, 'usr/bin/tool'), 0o755)
  await writeFile(join(root, 'usr/bin/su-helper'), '#!/bin/sh\necho setuid\n')
  await chmod(join(root, 'usr/bin/su-helper'), 0o4755)
  await link(join(root, 'usr/bin/tool'), join(root, 'usr/bin/tool-hardlink'))
  await symlink('/usr/bin/tool', join(root, 'usr/bin/tool-abs-symlink'))
  await symlink('../lib/app', join(root, 'var/app'))
  await writeFile(join(root, 'var/lib/app/data.bin'), Buffer.alloc(256 * 1024, 7))
  const long = join(root, 'var/lib/app', 'deep/'.repeat(20), 'x'.repeat(100))
  await mkdir(join(long, '..'), { recursive: true })
  await writeFile(long, 'a path longer than 100 bytes needs a pax header\n')
  // A 64 MiB sparse file with one block of data in the middle.
  const fh = await open(join(root, 'var/lib/app/disk.img'), 'w')
  await fh.write(Buffer.from('data in the middle of a hole\n'), 0, undefined, 32 << 20)
  await fh.truncate(64 << 20)
  await fh.close()
  if (isRoot) {
    await chown(join(root, 'var/lib/app'), 1234, 5678)
    const mk = spawnSync('mknod', ['-m', '0666', join(root, 'dev/null'), 'c', '1', '3'])
    spawnSync('mkfifo', [join(root, 'dev/initctl')])
    const cap = spawnSync('setfattr', [
      '-n',
      'security.capability',
      '-v',
      '0x0100000200040000000000000000000000000000',
      join(root, 'usr/bin/tool'),
    ])
    if (mk.status !== 0 || cap.status !== 0)
      notes.push('could not create the device node or capability (missing mknod or setfattr)')
  } else notes.push('not root: the sample has no foreign owners, device node or capability')
  const t = new Date('2024-01-01T00:00:00Z')
  await utimes(join(root, 'etc/hostname'), t, t)
  return notes
}
