// Kernel modules for the boot image: a chosen set and everything it depends
// on, taken from the same linux-image package as the kernel. depmod (kmod
// from the packages, run through the sysroot's loader) first indexes the
// whole package, which ships no modules.dep, and then the chosen subset, so
// modprobe in the image knows exactly what is there.
import { execFile } from 'node:child_process'
import { copyFile, mkdir, readdir, readFile, rm, stat } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { promisify } from 'node:util'
import { errors } from '../common/errors.ts'
import { LOADER } from './libs.ts'
import type { Tree } from './tree.ts'

const run = promisify(execFile)

/** A module's name as modprobe matches it: file name without .ko[.xz|.zst|.gz], '-' as '_'. */
export function moduleName(path: string): string {
  return (path.split('/').pop() ?? '').replace(/\.ko(\.(xz|zst|gz))?$/, '').replace(/-/g, '_')
}

async function depmod(sysroot: string, base: string, kernel: string): Promise<void> {
  const libPath = ['/lib/x86_64-linux-gnu', '/usr/lib/x86_64-linux-gnu'].map((d) => sysroot + d).join(':')
  try {
    await run(
      sysroot + LOADER,
      ['--library-path', libPath, '--argv0', 'depmod', `${sysroot}/bin/kmod`, '-b', base, kernel],
      { env: { PATH: '/usr/bin:/bin', LC_ALL: 'C' }, maxBuffer: 16 * 1024 * 1024 },
    )
  } catch (e) {
    throw errors.bootBuild(`depmod failed: ${(e as { stderr?: string }).stderr?.trim() ?? String(e)}`)
  }
}

/** The one kernel version the linux-image package holds. */
export async function kernelVersion(sysroot: string): Promise<string> {
  const versions = (await readdir(join(sysroot, 'lib/modules')).catch(() => [])).sort()
  if (versions.length !== 1) {
    throw errors.bootBuild(
      `expected one kernel in the linux-image package, found ${versions.length}: ${versions.join(' ')}`,
    )
  }
  return versions[0] as string
}

/** The linux-image package ships no modules.dep (its postinst makes it): index the whole package once. */
export async function ensureModulesDep(sysroot: string, kernel: string): Promise<void> {
  if (!(await stat(join(sysroot, 'lib/modules', kernel, 'modules.dep')).catch(() => undefined)))
    await depmod(sysroot, sysroot, kernel)
}

export interface ModuleSet {
  kernel: string
  /** Names asked for that are built into the kernel. */
  builtin: string[]
  /** Names asked for and their dependencies, as module names. */
  modules: string[]
}

/**
 * Adds `want` (all must exist as modules or built-ins) and `optional` (skipped
 * when unknown) with their dependencies to the tree under /lib/modules/KERNEL,
 * and the subset's own modules.dep & co. `work` is a scratch folder.
 */
export async function addModules(
  tree: Tree,
  o: { sysroot: string; kernel: string; want: string[]; optional?: string[]; work: string },
): Promise<ModuleSet> {
  const rel = `lib/modules/${o.kernel}`
  const src = join(o.sysroot, rel)
  await ensureModulesDep(o.sysroot, o.kernel)
  const deps = new Map<string, { path: string; deps: string[] }>()
  for (const line of (await readFile(join(src, 'modules.dep'), 'utf8')).split('\n')) {
    const m = line.match(/^([^:]+):\s*(.*)$/)
    if (m)
      deps.set(moduleName(m[1] as string), {
        path: m[1] as string,
        deps: (m[2] as string).split(/\s+/).filter(Boolean),
      })
  }
  const builtin = new Set(
    (await readFile(join(src, 'modules.builtin'), 'utf8')).split('\n').filter(Boolean).map(moduleName),
  )
  const chosen = new Set<string>()
  const builtins: string[] = []
  const pick = (name: string, required: boolean) => {
    const n = name.replace(/-/g, '_')
    if (builtin.has(n)) return builtins.push(n)
    const d = deps.get(n)
    if (!d) {
      if (required) throw errors.bootModule(name, o.kernel)
      return
    }
    chosen.add(d.path)
    for (const p of d.deps) chosen.add(p)
  }
  for (const n of o.want) pick(n, true)
  for (const n of o.optional ?? []) pick(n, false)

  const stage = join(o.work, 'modules')
  await rm(stage, { recursive: true, force: true })
  await mkdir(join(stage, rel), { recursive: true })
  const paths = [...chosen].sort()
  for (const p of paths) {
    await mkdir(dirname(join(stage, rel, p)), { recursive: true })
    await copyFile(join(src, p), join(stage, rel, p))
    await tree.file(`/${rel}/${p}`, join(src, p), 0o644)
  }
  for (const f of ['modules.order', 'modules.builtin', 'modules.builtin.modinfo']) {
    await copyFile(join(src, f), join(stage, rel, f))
    await tree.file(`/${rel}/${f}`, join(src, f), 0o644)
  }
  await depmod(o.sysroot, stage, o.kernel)
  for (const f of (await readdir(join(stage, rel))).sort()) {
    if (!f.startsWith('modules.') || tree.has(`/${rel}/${f}`)) continue
    // Read into memory: the stage folder is reused by the next build.
    tree.data(`/${rel}/${f}`, await readFile(join(stage, rel, f)))
  }
  return { kernel: o.kernel, builtin: [...new Set(builtins)].sort(), modules: paths.map(moduleName).sort() }
}
