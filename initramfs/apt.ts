// Debian packages for the boot image, fetched at build time with apt and
// unpacked with dpkg -x into a sysroot of their own, so that nothing of the
// build host's installed system leaks into the image. Both steps are cached in
// the store: .deb files by name and SHA-256 (apt's index says which), and the
// unpacked sysroot by the exact set of package versions.
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { promisify } from 'node:util'
import { errors } from '../common/errors.ts'

const run = promisify(execFile)

export interface DebPackage {
  name: string
  version: string
  /** apt's pool path; its basename names the cached file. */
  filename: string
  size: number
  sha256: string
  depends: string[]
}

export interface Progress {
  update(done: number, total?: number): void
  finish(summary?: string): void
}
export type ProgressFactory = (label: string, total: number) => Progress

const NAME = /^[a-z0-9][a-z0-9+.-]+$/

/** The names in a Depends/Pre-Depends field: the first alternative of each, without versions or arch qualifiers. */
export function dependencyNames(field: string): string[] {
  const out: string[] = []
  for (const part of field.split(',')) {
    const first = part.split('|')[0]?.trim() ?? ''
    const name = first.split(/[\s(]/)[0]?.split(':')[0] ?? ''
    if (NAME.test(name)) out.push(name)
  }
  return out
}

/** Parses `apt-cache show` output (RFC 822 style stanzas). */
export function parseStanzas(text: string): DebPackage[] {
  const out: DebPackage[] = []
  for (const block of text.split(/\n\s*\n/)) {
    const f = new Map<string, string>()
    let key = ''
    for (const line of block.split('\n')) {
      if (/^\s/.test(line) && key) f.set(key, `${f.get(key) ?? ''}\n${line.trim()}`)
      else {
        const m = line.match(/^([A-Za-z0-9-]+):\s?(.*)$/)
        if (m) {
          key = m[1] as string
          f.set(key, m[2] as string)
        }
      }
    }
    const name = f.get('Package')
    if (name === undefined) continue
    const sha256 = f.get('SHA256') ?? ''
    const filename = f.get('Filename') ?? ''
    if (!/^[0-9a-f]{64}$/.test(sha256) || !filename.endsWith('.deb')) {
      throw errors.bootPackage(name, 'apt has no SHA-256 or file name for it')
    }
    out.push({
      name,
      version: f.get('Version') ?? '',
      filename,
      size: Number(f.get('Size') ?? 0),
      sha256,
      depends: [...dependencyNames(f.get('Pre-Depends') ?? ''), ...dependencyNames(f.get('Depends') ?? '')],
    })
  }
  return out
}

async function aptShow(names: string[]): Promise<DebPackage[]> {
  try {
    const { stdout } = await run('apt-cache', ['show', '--no-all-versions', ...names], {
      maxBuffer: 64 * 1024 * 1024,
      env: { ...process.env, LC_ALL: 'C' },
    })
    return parseStanzas(stdout)
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; code?: unknown }
    // apt-cache exits non-zero when one name is unknown; say which.
    const found = new Set(parseStanzas(err.stdout ?? '').map((p) => p.name))
    const missing = names.find((n) => !found.has(n)) ?? names.join(' ')
    if (err.code === 'ENOENT') throw errors.bootPackage(missing, 'apt-cache is not installed (a Debian host is needed)')
    throw errors.bootPackage(missing, `not known to apt (${(err.stderr ?? '').trim().split('\n').pop() ?? ''})`)
  }
}

/**
 * The named packages and, recursively, the dependencies that follow(name)
 * accepts (the shared libraries), at apt's candidate versions. Sorted by name.
 */
export async function resolvePackages(roots: string[], follow: (dep: string) => boolean): Promise<DebPackage[]> {
  const got = new Map<string, DebPackage>()
  let want = [...new Set(roots)]
  while (want.length > 0) {
    for (const p of await aptShow(want)) if (!got.has(p.name)) got.set(p.name, p)
    for (const n of want) if (!got.has(n)) throw errors.bootPackage(n, 'not known to apt')
    const next = new Set<string>()
    for (const n of want) {
      for (const d of got.get(n)?.depends ?? []) if (!got.has(d) && follow(d)) next.add(d)
    }
    want = [...next].sort()
  }
  return [...got.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
}

export async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256')
  for await (const c of createReadStream(file)) h.update(c as Buffer)
  return h.digest('hex')
}

function cachedName(p: DebPackage): string {
  return basename(p.filename)
}

/** Downloads what the cache lacks (apt-get download), checks every file's SHA-256 against apt's index. */
export async function fetchPackages(pkgs: DebPackage[], cacheDir: string, progress?: ProgressFactory): Promise<void> {
  const debs = join(cacheDir, 'debs')
  await mkdir(debs, { recursive: true })
  const missing: DebPackage[] = []
  for (const p of pkgs) {
    const st = await stat(join(debs, cachedName(p))).catch(() => undefined)
    if (st?.size !== p.size) missing.push(p)
  }
  const total = missing.reduce((a, p) => a + p.size, 0)
  const bar = progress?.('download', total)
  if (missing.length > 0) {
    const tmp = join(debs, `.partial-${process.pid}`)
    await rm(tmp, { recursive: true, force: true })
    await mkdir(tmp, { recursive: true })
    try {
      // One apt-get per batch keeps apt's parallel downloads; the bar advances per batch.
      let done = 0
      for (let i = 0; i < missing.length; i += 8) {
        const batch = missing.slice(i, i + 8)
        try {
          await run('apt-get', ['download', '-q', ...batch.map((p) => `${p.name}=${p.version}`)], {
            cwd: tmp,
            maxBuffer: 16 * 1024 * 1024,
            env: { ...process.env, LC_ALL: 'C' },
          })
        } catch (e) {
          const err = e as { stderr?: string }
          const line = (err.stderr ?? String(e)).split('\n').find((l) => l.startsWith('E:')) ?? String(e)
          throw errors.bootPackage(batch.map((p) => p.name).join(' '), `apt-get download failed: ${line}`)
        }
        done += batch.reduce((a, p) => a + p.size, 0)
        bar?.update(done)
      }
      const bySha = new Map(missing.map((p) => [p.sha256, p]))
      for (const f of await readdir(tmp)) {
        const p = bySha.get(await sha256File(join(tmp, f)))
        if (p !== undefined) await rename(join(tmp, f), join(debs, cachedName(p)))
      }
    } finally {
      await rm(tmp, { recursive: true, force: true })
    }
  }
  for (const p of missing) {
    const file = join(debs, cachedName(p))
    const sum = await sha256File(file).catch(() => '')
    if (sum !== p.sha256) {
      await rm(file, { force: true })
      throw errors.bootPackage(p.name, `the downloaded file does not match apt's SHA-256 (${sum || 'missing'})`)
    }
  }
  bar?.finish(`download: ${missing.length} packages fetched, ${pkgs.length - missing.length} from the cache`)
}

/** The key of a package set: same versions, same sysroot. */
export function setKey(pkgs: DebPackage[]): string {
  const h = createHash('sha256')
  for (const p of pkgs) h.update(`${p.name}=${p.version} ${p.sha256}\n`)
  return h.digest('hex').slice(0, 16)
}

/** Unpacks every package (dpkg -x) into one sysroot, cached by the set of versions. Returns its path. */
export async function unpackPackages(
  pkgs: DebPackage[],
  cacheDir: string,
  tag: string,
  progress?: ProgressFactory,
): Promise<string> {
  const root = join(cacheDir, `sysroot-${tag}-${setKey(pkgs)}`)
  const marker = `${root}.complete`
  if (await stat(marker).catch(() => undefined)) return root
  await rm(root, { recursive: true, force: true })
  await mkdir(root, { recursive: true })
  const bar = progress?.(`extract (${tag})`, pkgs.length)
  let n = 0
  for (const p of pkgs) {
    try {
      await run('dpkg', ['-x', join(cacheDir, 'debs', cachedName(p)), root], { maxBuffer: 16 * 1024 * 1024 })
    } catch (e) {
      throw errors.bootPackage(p.name, `dpkg -x failed: ${(e as { stderr?: string }).stderr?.trim() ?? String(e)}`)
    }
    bar?.update(++n)
  }
  await writeFile(marker, `${pkgs.map((p) => `${p.name}=${p.version}`).join('\n')}\n`)
  bar?.finish(`extract (${tag}): ${pkgs.length} packages`)
  return root
}
