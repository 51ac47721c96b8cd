// Shared libraries of the boot image's programs, resolved the way ldd does,
// but against the unpacked packages only: the sysroot's own dynamic loader
// lists them with --library-path pointing into the sysroot. A library that
// resolves outside the sysroot (from the build host) is an error.
import { execFile } from 'node:child_process'
import { open } from 'node:fs/promises'
import { promisify } from 'node:util'
import { errors } from '../common/errors.ts'

const run = promisify(execFile)

export const LOADER = '/lib64/ld-linux-x86-64.so.2'
const LIB_DIRS = ['/lib/x86_64-linux-gnu', '/usr/lib/x86_64-linux-gnu', '/lib', '/usr/lib']

/** 'dynamic' when the ELF file has a PT_INTERP (needs a loader), 'static' without, undefined when not ELF. */
export async function elfKind(file: string): Promise<'dynamic' | 'static' | undefined> {
  const fh = await open(file, 'r')
  try {
    const head = Buffer.alloc(64)
    await fh.read(head, 0, 64, 0)
    if (head.readUInt32BE(0) !== 0x7f454c46 || head[4] !== 2 || head[5] !== 1) return undefined
    const phoff = Number(head.readBigUInt64LE(32))
    const phentsize = head.readUInt16LE(54)
    const phnum = head.readUInt16LE(56)
    const ph = Buffer.alloc(phentsize * phnum)
    await fh.read(ph, 0, ph.length, phoff)
    for (let i = 0; i < phnum; i++) if (ph.readUInt32LE(i * phentsize) === 3) return 'dynamic'
    return 'static'
  } finally {
    await fh.close()
  }
}

/**
 * The libraries `file` needs, as paths inside the sysroot (so "/lib/x86_64-linux-gnu/libc.so.6").
 * `what` names the program in errors.
 */
export async function neededLibraries(sysroot: string, file: string, what: string): Promise<string[]> {
  if ((await elfKind(file)) !== 'dynamic') return []
  let out: string
  try {
    const r = await run(
      sysroot + LOADER,
      ['--list', '--library-path', LIB_DIRS.map((d) => sysroot + d).join(':'), file],
      { env: { PATH: '/usr/bin:/bin', LC_ALL: 'C' }, maxBuffer: 4 * 1024 * 1024 },
    )
    out = r.stdout
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string }
    const m = (err.stderr ?? '').match(/error while loading shared libraries: ([^:]+):/)
    if (m) throw errors.bootLibrary(what, m[1] as string)
    throw errors.bootBuild(`cannot list the libraries of ${what}: ${(err.stderr ?? String(e)).trim()}`)
  }
  const libs: string[] = []
  for (const line of out.split('\n')) {
    const t = line.trim()
    if (t === '' || t.startsWith('linux-vdso')) continue
    const m = t.match(/^(\S+)(?: => (\S+))? \(0x[0-9a-f]+\)$/) ?? t.match(/^(\S+) => (not found)$/)
    if (!m) throw errors.bootBuild(`unexpected loader output for ${what}: ${t}`)
    const path = m[2] ?? m[1] ?? ''
    if (path === 'not found') throw errors.bootLibrary(what, m[1] as string)
    if (!path.startsWith(`${sysroot}/`))
      throw errors.bootLibrary(what, `${m[1]} (found only on the build host: ${path})`)
    libs.push(path.slice(sysroot.length))
  }
  return libs
}
