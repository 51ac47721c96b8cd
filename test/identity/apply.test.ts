// applyIdentity on real trees: the files it writes, SSH host keys made by the
// image's own ssh-keygen in a real chroot, and nothing ever written outside.
import { createHash } from 'node:crypto'
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it, onTestFinished } from 'vitest'
import { applyIdentity } from '../../client/identity/index.ts'
import { isImgswarmError } from '../../common/errors.ts'
import { busyboxTree, chrootDir, chrootSkipReason, copyWithLibs, mountsUnder } from '../postinstall/tree.ts'
import { isRoot } from '../support/tmp.ts'

const why = chrootSkipReason(isRoot)
if (why !== '') console.warn(`test/identity: skipped: ${why}`)
const VARS = {
  hostname: 'node007',
  image: 'debian',
  version: '3',
  server: 'http://10.0.0.1:8080',
  mac: null,
  ip: '10.0.0.7',
  disk: '/dev/sda',
}
const FSTAB = ['UUID=1111-2222 / ext4 defaults 0 1', 'UUID=3333 none swap sw 0 0']

/** An image-like tree: Debian's hosts, a stale machine-id and host keys. */
function imageTree(): string {
  const root = chrootDir()
  busyboxTree(root)
  for (const d of ['etc/ssh', 'var/lib/dbus']) mkdirSync(join(root, d), { recursive: true })
  writeFileSync(join(root, 'etc/hostname'), 'golden\n')
  writeFileSync(join(root, 'etc/hosts'), '127.0.0.1\tlocalhost\n127.0.1.1\tgolden\n::1 localhost\n')
  writeFileSync(join(root, 'etc/fstab'), '# image fstab\n')
  writeFileSync(join(root, 'etc/machine-id'), '0123456789abcdef0123456789abcdef\n')
  writeFileSync(join(root, 'var/lib/dbus/machine-id'), '0123456789abcdef0123456789abcdef\n')
  for (const k of ['ssh_host_rsa_key', 'ssh_host_rsa_key.pub', 'ssh_host_ed25519_key'])
    writeFileSync(join(root, 'etc/ssh', k), 'OLD KEY\n', { mode: 0o600 })
  writeFileSync(join(root, 'etc/ssh/sshd_config'), 'Port 22\n')
  return root
}

const sha = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex')

describe.skipIf(why !== '')('applyIdentity', () => {
  it('writes hostname, hosts, fstab, an empty machine-id; removes host keys; no ssh-keygen: first boot', async () => {
    const root = imageTree()
    const r = await applyIdentity(root, { hostname: 'Node007', fstab: FSTAB, vars: VARS })
    expect(r).toEqual({
      hostname: 'node007',
      fstab: true,
      removedKeys: ['ssh_host_ed25519_key', 'ssh_host_rsa_key', 'ssh_host_rsa_key.pub'],
      sshKeys: 'first-boot',
    })
    const read = (p: string) => readFileSync(join(root, p), 'utf8')
    expect(read('etc/hostname')).toBe('node007\n')
    expect(read('etc/hosts')).toBe('127.0.0.1\tlocalhost\n127.0.1.1\tnode007\n::1 localhost\n')
    expect(read('etc/fstab')).toMatch(/\nUUID=1111-2222 \/ ext4 defaults 0 1\nUUID=3333 none swap sw 0 0\n$/)
    expect(lstatSync(join(root, 'etc/machine-id')).size).toBe(0)
    expect(existsSync(join(root, 'var/lib/dbus/machine-id'))).toBe(false)
    expect(read('etc/ssh/sshd_config')).toBe('Port 22\n')
    expect(read('etc/imgswarm/node.env')).toContain("IMGSWARM_HOSTNAME='node007'\n")
    expect(read('etc/imgswarm/node.env')).toContain("IMGSWARM_MAC=''\n")
    expect(lstatSync(join(root, 'etc/hostname')).mode & 0o777).toBe(0o644)
  })

  it('with --target-dir (fstab null) leaves fstab alone; a dbus machine-id symlink stays', async () => {
    const root = imageTree()
    const dbus = join(root, 'var/lib/dbus/machine-id')
    rmSync(dbus)
    symlinkSync('/etc/machine-id', dbus)
    await applyIdentity(root, { hostname: null, fstab: null })
    expect(readFileSync(join(root, 'etc/fstab'), 'utf8')).toBe('# image fstab\n')
    expect(readFileSync(join(root, 'etc/hostname'), 'utf8')).toBe('golden\n')
    expect(readlinkSync(dbus)).toBe('/etc/machine-id')
    expect(existsSync(join(root, 'etc/imgswarm/node.env'))).toBe(false)
  })

  it('refuses a bad host name before writing anything', async () => {
    const root = imageTree()
    const e = await applyIdentity(root, { hostname: 'bad_name', fstab: FSTAB }).then(
      () => undefined,
      (x: unknown) => x,
    )
    expect(isImgswarmError(e, 'IMGSWARM_ERR_HOSTNAME')).toBe(true)
    expect(readFileSync(join(root, 'etc/fstab'), 'utf8')).toBe('# image fstab\n')
  })

  it("regenerates host keys with the image's ssh-keygen -A in a chroot, and unmounts", async () => {
    const root = imageTree()
    copyWithLibs(root, '/usr/bin/ssh-keygen')
    const hostKeys = ['/etc/ssh/ssh_host_ed25519_key', '/etc/ssh/ssh_host_rsa_key'].filter((f) => existsSync(f))
    const before = hostKeys.map(sha)
    const r = await applyIdentity(root, { hostname: 'node007', fstab: FSTAB })
    expect(r.sshKeys).toBe('regenerated')
    for (const k of ['ssh_host_ed25519_key', 'ssh_host_rsa_key', 'ssh_host_ecdsa_key']) {
      const key = readFileSync(join(root, 'etc/ssh', k), 'utf8')
      expect(key).toMatch(/^-----BEGIN OPENSSH PRIVATE KEY-----/)
      expect(readFileSync(join(root, 'etc/ssh', `${k}.pub`), 'utf8')).toMatch(/^(ssh|ecdsa)-/)
    }
    expect(mountsUnder(root)).toEqual([])
    // The host's own keys were not touched.
    expect(hostKeys.map(sha)).toEqual(before)
  })
})

describe.skipIf(why !== '')('applyIdentity never writes through a symlink out of the tree', () => {
  // Each identity file in turn is a link to a file outside the tree (by its
  // absolute host path, and as a "/host-file" style absolute link). Read
  // inside the tree, the first does not exist: a coded refusal, or a write
  // that lands inside the tree. The victim outside never changes.
  const FILES = ['/etc/hostname', '/etc/hosts', '/etc/fstab', '/etc/machine-id', '/var/lib/dbus/machine-id']

  it.each(FILES)('%s -> a file outside', async (file) => {
    const outside = chrootDir()
    const victim = join(outside, 'victim')
    writeFileSync(victim, 'VICTIM\n')
    const root = imageTree()
    rmSync(join(root, file))
    symlinkSync(victim, join(root, file))
    const e = await applyIdentity(root, { hostname: 'node007', fstab: FSTAB }).then(
      () => undefined,
      (x: unknown) => x,
    )
    if (e !== undefined && !isImgswarmError(e, 'IMGSWARM_ERR_TARGET_PATH')) throw e
    expect(readFileSync(victim, 'utf8')).toBe('VICTIM\n')
  })

  it.each(FILES)('%s -> /host-file and -> ../../../../host-file land inside the tree', async (file) => {
    if (existsSync('/imgswarm-host-file')) throw new Error('/imgswarm-host-file exists before the test: remove it')
    onTestFinished(() => rmSync('/imgswarm-host-file', { force: true })) // only if the code under test is broken
    for (const link of ['/imgswarm-host-file', '../../../../../../../../imgswarm-host-file']) {
      const root = imageTree()
      rmSync(join(root, file))
      symlinkSync(link, join(root, file))
      await applyIdentity(root, { hostname: 'node007', fstab: FSTAB })
      expect(existsSync('/imgswarm-host-file')).toBe(false)
      // Written (or, for the dbus copy, the link left alone) inside the tree.
      if (file !== '/var/lib/dbus/machine-id') expect(existsSync(join(root, 'imgswarm-host-file'))).toBe(true)
      else expect(readlinkSync(join(root, file))).toBe(link)
    }
  })

  it('/etc itself -> a directory outside', async () => {
    const outside = chrootDir()
    mkdirSync(join(outside, 'etc'))
    writeFileSync(join(outside, 'etc/hostname'), 'VICTIM\n')
    const root = imageTree()
    rmSync(join(root, 'etc'), { recursive: true })
    symlinkSync(join(outside, 'etc'), join(root, 'etc'))
    const e = await applyIdentity(root, { hostname: 'node007', fstab: FSTAB }).then(
      () => undefined,
      (x: unknown) => x,
    )
    expect(isImgswarmError(e, 'IMGSWARM_ERR_TARGET_PATH')).toBe(true)
    expect(readFileSync(join(outside, 'etc/hostname'), 'utf8')).toBe('VICTIM\n')
  })

  it('/etc/ssh -> a directory of keys outside: those keys stay', async () => {
    const outside = chrootDir()
    writeFileSync(join(outside, 'ssh_host_rsa_key'), 'VICTIM\n')
    const root = imageTree()
    rmSync(join(root, 'etc/ssh'), { recursive: true })
    symlinkSync(outside, join(root, 'etc/ssh'))
    const r = await applyIdentity(root, { hostname: 'node007', fstab: FSTAB })
    expect(r.removedKeys).toEqual([])
    expect(readFileSync(join(outside, 'ssh_host_rsa_key'), 'utf8')).toBe('VICTIM\n')
  })

  it('a symlink loop is a coded refusal', async () => {
    const root = imageTree()
    rmSync(join(root, 'etc/hosts'))
    symlinkSync('/etc/hosts', join(root, 'etc/hosts'))
    const e = await applyIdentity(root, { hostname: 'node007', fstab: FSTAB }).then(
      () => undefined,
      (x: unknown) => x,
    )
    expect(isImgswarmError(e, 'IMGSWARM_ERR_TARGET_PATH')).toBe(true)
    expect((e as Error).message).toMatch(/too many levels of symbolic links/)
  })
})
