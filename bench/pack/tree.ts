// The benchmark's input: a deterministic tree of many small files in nested
// directories plus a few large ones, with text-like and random content. A
// stamp file records the parameters; a tree whose stamp matches is reused,
// because generating 2 GB takes a while.
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, symlinkSync, writeFileSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { ByteStream, type ContentKind, fillContent, Rng, TextSource } from './content.ts'

/** Bump when the generator changes what it writes: old trees are then regenerated. */
const GENERATOR_VERSION = 1
const KiB = 1024
const MB = 1e6
/** Small files per GB of tree (the "about 2 GB" tree has about 40,000). */
const SMALL_PER_GB = 20_000
const FILES_PER_DIR = 20

export interface TreeSpec {
  seed: string
  sizeGb: number
}

export interface TreeStats {
  /** Bytes of file content. */
  bytes: number
  files: number
  largeFiles: number
  dirs: number
  symlinks: number
  /** Everything a tar archive has a header for, the root included. */
  entries: number
}

interface Stamp {
  generator: number
  spec: TreeSpec
  stats: TreeStats
}

function readStamp(file: string): Stamp | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Stamp
  } catch {
    return undefined
  }
}

/** The tree at `dir`, generated unless a matching one is already there. */
export function ensureTree(
  dir: string,
  stampFile: string,
  spec: TreeSpec,
  log: (line: string) => void,
): { stats: TreeStats; reused: boolean } {
  const old = readStamp(stampFile)
  if (old && old.generator === GENERATOR_VERSION && old.spec.seed === spec.seed && old.spec.sizeGb === spec.sizeGb) {
    return { stats: old.stats, reused: true }
  }
  rmSync(stampFile, { force: true })
  rmSync(dir, { recursive: true, force: true })
  const stats = generateTree(dir, spec, log)
  writeFileSync(stampFile, `${JSON.stringify({ generator: GENERATOR_VERSION, spec, stats }, null, 2)}\n`)
  return { stats, reused: false }
}

export function forgetTree(dir: string, stampFile: string): void {
  rmSync(stampFile, { force: true })
  rmSync(dir, { recursive: true, force: true })
}

function generateTree(root: string, spec: TreeSpec, log: (line: string) => void): TreeStats {
  const rng = new Rng(spec.seed)
  const bytes = new ByteStream(spec.seed)
  const text = new TextSource(spec.seed, bytes)
  const target = spec.sizeGb * 1e9
  const stats: TreeStats = { bytes: 0, files: 0, largeFiles: 0, dirs: 1, symlinks: 0, entries: 1 }
  mkdirSync(root, { recursive: true })

  // A random recursive tree of directories: each one's parent is an earlier
  // one, which gives a spread of depths (mostly 3 to 10) like /usr.
  const nSmall = Math.max(1, Math.round(SMALL_PER_GB * spec.sizeGb))
  const dirs = ['']
  for (let j = 1; j <= Math.ceil(nSmall / FILES_PER_DIR); j++) {
    const parent = dirs[rng.int(0, dirs.length - 1)] as string
    const rel = join(parent, `d${j.toString(36)}`)
    mkdirSync(join(root, rel))
    dirs.push(rel)
    stats.dirs++
  }

  const buf = Buffer.alloc(64 * KiB)
  let nextReport = 0.1
  for (let i = 0; i < nSmall; i++) {
    const dir = dirs[rng.int(0, dirs.length - 1)] as string
    const size = i % 997 === 0 ? 0 : rng.logUniform(KiB, 64 * KiB)
    const kind: ContentKind = rng.float() < 0.7 ? 'text' : 'random'
    const name = `f${i.toString(36)}.${kind === 'text' ? 'txt' : 'bin'}`
    const data = buf.subarray(0, size)
    fillContent(data, kind, text, bytes, rng)
    writeFileSync(join(root, dir, name), data, { mode: rng.float() < 0.1 ? 0o755 : 0o644 })
    stats.files++
    stats.bytes += size
    if (i % 401 === 0) {
      symlinkSync(name, join(root, dir, `l${i.toString(36)}`))
      stats.symlinks++
    }
    if (i / nSmall >= nextReport) {
      log(`  small files: ${i.toLocaleString('en-US')} of ${nSmall.toLocaleString('en-US')}`)
      nextReport += 0.1
    }
  }

  // The rest of the budget goes to large files of 100-400 MB (disk images,
  // databases, archives), the last one cut to what is left.
  let budget = target - stats.bytes
  if (budget > 0) {
    mkdirSync(join(root, 'large'))
    stats.dirs++
  }
  const chunk = Buffer.alloc(4 << 20)
  for (let k = 0; budget > 0; k++) {
    let size = rng.logUniform(100 * MB, 400 * MB)
    if (budget - size < 50 * MB) size = Math.round(budget)
    const kind: ContentKind = (['mixed', 'random', 'text'] as const)[k % 3] ?? 'mixed'
    const file = join(root, 'large', `blob${k}.${kind === 'text' ? 'log' : 'img'}`)
    log(`  large file ${k + 1}: ${(size / MB).toFixed(0)} MB (${kind})`)
    const fd = openSync(file, 'wx', 0o644)
    try {
      for (let pos = 0; pos < size; ) {
        const part = chunk.subarray(0, Math.min(chunk.length, size - pos))
        fillContent(part, kind, text, bytes, rng)
        for (let off = 0; off < part.length; ) off += writeSync(fd, part, off)
        pos += part.length
      }
    } finally {
      closeSync(fd)
    }
    stats.files++
    stats.largeFiles++
    stats.bytes += size
    budget -= size
  }
  stats.entries = stats.files + stats.dirs + stats.symlinks
  return stats
}
