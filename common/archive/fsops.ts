// File-system operations Node has no API for: device nodes, fifos and
// extended attributes. They shell out to coreutils and attr, and never hand a
// child process a path it could be tricked into following: the child gets an
// already-verified file or directory as its fd 3 and works on /proc/self/fd/3,
// which names exactly that open file whatever happens to the path meanwhile.
import { spawn } from 'node:child_process'
import { errors } from '../errors.ts'

/** The package that provides each tool, for the "install it" hint. */
const PACKAGE: Record<string, string> = { mknod: 'coreutils', mkfifo: 'coreutils', setfattr: 'attr' }

/** Linux limits on xattrs (limits.h: XATTR_NAME_MAX, XATTR_SIZE_MAX). */
const XATTR_NAME_MAX = 255
const XATTR_SIZE_MAX = 65536
const NAMESPACES = ['user.', 'security.', 'trusted.', 'system.']

/** The temporary-name prefix for nodes made through a directory fd (see mknodAt). */
export const TMP_PREFIX = '.imgswarm-tmp-'

async function run(tool: string, args: string[], fd: number, stdin?: string): Promise<void> {
  const child = spawn(tool, args, { stdio: ['pipe', 'ignore', 'pipe', fd] })
  let stderr = ''
  child.stderr?.setEncoding('utf8')
  child.stderr?.on('data', (c: string) => {
    if (stderr.length < 4096) stderr += c
  })
  // A child that dies before reading stdin must not crash us with EPIPE.
  child.stdin?.on('error', () => undefined)
  child.stdin?.end(stdin ?? '')
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject)
    child.once('close', resolve)
  }).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') throw errors.tool(tool, 'not installed', PACKAGE[tool])
    throw errors.tool(tool, e.message)
  })
  if (code !== 0) throw errors.tool(tool, stderr.trim().split('\n')[0] || `exit status ${code}`)
}

/**
 * Creates a device node or fifo named `name` (plain ASCII, chosen by us) in
 * the directory open as `dirFd`, with mode 0600; the caller sets owner and mode.
 */
export async function mknodAt(
  dirFd: number,
  name: string,
  kind: 'char' | 'block' | 'fifo',
  major: number,
  minor: number,
): Promise<void> {
  const path = `/proc/self/fd/3/${name}`
  if (kind === 'fifo') await run('mkfifo', ['-m', '0600', '--', path], dirFd)
  else await run('mknod', ['-m', '0600', '--', path, kind === 'char' ? 'c' : 'b', String(major), String(minor)], dirFd)
}

/** Returns why an xattr cannot be restored as given, or undefined if it can. */
export function badXattr(name: string, value: Buffer): string | undefined {
  const len = Buffer.byteLength(name)
  if (len === 0 || len > XATTR_NAME_MAX) return `xattr name of ${len} bytes`
  if (name.includes('\0')) return 'xattr name contains a NUL byte'
  if (!NAMESPACES.some((p) => name.startsWith(p) && name.length > p.length)) {
    return `xattr ${JSON.stringify(name)} is in no known namespace`
  }
  if (value.length > XATTR_SIZE_MAX) return `xattr ${JSON.stringify(name)} value of ${value.length} bytes`
  return undefined
}

// setfattr's restore format is line based and unescapes backslashes, so only
// names that cannot change its parse go through it; others get one run each.
const RESTORE_SAFE = /^[\x21-\x7e]+$/
const restoreSafe = (name: string) => RESTORE_SAFE.test(name) && !name.includes('=') && !name.includes('\\')

/**
 * Sets xattrs on the file open as `fd` (regular file or directory), or with
 * `name` on the entry `name` inside the directory open as `fd`, without
 * following it (symlinks, devices, fifos: they cannot be opened safely).
 * Names must have passed badXattr.
 */
export async function setXattrs(fd: number, xattrs: Map<string, Buffer>, name?: string): Promise<void> {
  if (xattrs.size === 0) return
  const path = name === undefined ? '/proc/self/fd/3' : `/proc/self/fd/3/${name}`
  const deref = name === undefined ? [] : ['-h']
  const batch: string[] = []
  for (const [k, v] of xattrs) {
    if (restoreSafe(k)) batch.push(`${k}=0x${v.toString('hex')}`)
    else await run('setfattr', [...deref, '-n', k, '-v', `0x${v.toString('hex')}`, '--', path], fd)
  }
  if (batch.length > 0) {
    await run('setfattr', [...deref, '--restore=-'], fd, `# file: ${path}\n${batch.join('\n')}\n\n`)
  }
}
