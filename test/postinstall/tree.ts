// A minimal installed tree that programs really run in through chroot: a
// static busybox (Debian's busybox-static) with its applets, plus host
// binaries copied in with the shared libraries ldd names. Also the checks
// the chroot tests share: tools present, and no mount left under a tree.
import { execFileSync } from 'node:child_process'
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterEach } from 'vitest'

export const BUSYBOX = '/bin/busybox'
const APPLETS = ['sh', 'cat', 'echo', 'env', 'ls', 'sleep', 'mount', 'umount', 'mkdir', 'touch', 'pwd', 'id', 'seq']

/** Why chroot tests cannot run here, or '' when they can. */
export function chrootSkipReason(isRoot: boolean): string {
  if (!isRoot) return 'not root'
  if (!existsSync(BUSYBOX) || !isStatic(BUSYBOX))
    return `no static ${BUSYBOX} (scripts/install-deps.sh test: busybox-static)`
  for (const t of ['/usr/sbin/chroot', '/usr/bin/mount']) if (!existsSync(t)) return `no ${t}`
  return ''
}

function isStatic(bin: string): boolean {
  try {
    execFileSync('ldd', [bin], { stdio: 'pipe' })
    return false
  } catch {
    return true // ldd: "not a dynamic executable"
  }
}

/** bin/busybox with applet links, /etc/passwd for root, and the usual top-level dirs. */
export function busyboxTree(root: string): void {
  for (const d of ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'etc', 'dev', 'proc', 'sys', 'tmp', 'root', 'mnt', 'boot'])
    mkdirSync(join(root, d), { recursive: true })
  copyFileSync(BUSYBOX, join(root, 'bin/busybox'))
  chmodSync(join(root, 'bin/busybox'), 0o755)
  for (const a of APPLETS) symlinkSync('busybox', join(root, 'bin', a))
  writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n')
  writeFileSync(join(root, 'etc/group'), 'root:x:0:\n')
}

/** Copies a dynamically linked host program and its libraries to the same paths in the tree. */
export function copyWithLibs(root: string, bin: string): void {
  const out = execFileSync('ldd', [bin], { encoding: 'utf8' })
  const libs = [...out.matchAll(/(\/[^\s]+) \(0x/g)].map((m) => m[1] as string)
  for (const f of [bin, ...libs]) {
    const to = join(root, f)
    mkdirSync(dirname(to), { recursive: true })
    copyFileSync(f, to)
    chmodSync(to, 0o755)
  }
}

/** Mount points at or below `dir`, from this process's mountinfo. */
export function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((m): m is string => m !== undefined && (m === dir || m.startsWith(`${dir}/`)))
}

const made: string[] = []

/**
 * A temp dir for a chroot tree. After each test, anything still mounted under
 * it is detached first and the test fails; only a dir with no mounts left is
 * removed, so a leaked /dev bind can never make the removal delete the host's /dev.
 */
export function chrootDir(): string {
  const d = mkdtempSync(join(process.env.IMGSWARM_TEST_TMP ?? tmpdir(), 'imgswarm-chroot-'))
  made.push(d)
  return d
}

afterEach(() => {
  const leaked: string[] = []
  while (made.length > 0) {
    const d = made.pop() as string
    const mounts = mountsUnder(d).sort((a, b) => b.length - a.length)
    for (const m of mounts) {
      leaked.push(m)
      try {
        execFileSync('umount', ['-l', m], { stdio: 'pipe' })
      } catch {
        // reported below
      }
    }
    if (mountsUnder(d).length === 0) rmSync(d, { recursive: true, force: true })
  }
  if (leaked.length > 0) throw new Error(`mounts left behind under the tree: ${leaked.join(', ')}`)
})
