// The two things compared: our `image pack` (through the real CLI launcher)
// and the hand-made baseline of GNU tar, mktorrent and sha256sum (and zstd).
import { readdirSync, rmSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { errors } from '../../common/errors.ts'
import { run, timed } from './proc.ts'

export type Compression = 'none' | 'zstd'
/**
 * The whole-archive SHA-256 step. Debian 12's sha256sum (coreutils 9.1) does
 * not use the CPU's SHA instructions and runs about 6x slower than OpenSSL,
 * which our pack uses through Node; `openssl` is the stricter baseline.
 */
export type Sha256Tool = 'sha256sum' | 'openssl'
const SHA256: Record<Sha256Tool, string> = { sha256sum: 'sha256sum "$1"', openssl: 'openssl sha256 -r "$1"' }

export interface SideResult {
  wall: number
  rssKiB: number
  user: number
  sys: number
  outputBytes: number
  sha256: string
  infoHash?: string
  pieceLength?: number
}

/** Nothing listens there: the torrents only need an announce URL to be valid. */
export const ANNOUNCE = 'http://127.0.0.1:1/announce'
const IMAGE = 'benchimg'

function contract(detail: string): Error {
  return errors.tool('imgswarm image pack', `benchmark contract: ${detail}`)
}

export class Ours {
  readonly bin: string
  readonly store: string
  readonly env: NodeJS.ProcessEnv

  constructor(bin: string, store: string, env: NodeJS.ProcessEnv) {
    this.bin = bin
    this.store = store
    this.env = env
  }

  /** `image pack --help`, or the reason it is not there yet. */
  async help(): Promise<{ ok: true; text: string } | { ok: false; reason: string }> {
    try {
      return { ok: true, text: await run(this.bin, ['image', 'pack', '--help'], { env: this.env }) }
    } catch (e) {
      return { ok: false, reason: (e as Error).message }
    }
  }

  /** Copies the tree into the store (once, untimed); returns where the store keeps it. */
  async importTree(tree: string): Promise<string> {
    const args = ['image', 'import', tree, IMAGE, '--store', this.store, '--config', 'none']
    await run(this.bin, args, { env: this.env, inheritStderr: true })
    return this.storedTree()
  }

  storedTree(): string {
    const dir = join(this.store, 'images', IMAGE)
    const versions = readdirSync(dir)
    if (versions.length !== 1) throw contract(`expected one version under ${dir}, found ${versions.join(', ')}`)
    return join(dir, versions[0] as string)
  }

  /** Forgets the packed files so the next pack does the work again (packed versions are immutable). */
  reset(): void {
    rmSync(join(this.store, 'packed'), { recursive: true, force: true })
    rmSync(join(this.store, 'tmp'), { recursive: true, force: true })
  }

  async pack(c: Compression): Promise<SideResult> {
    // Everything explicit, nothing from a config file: compression and level default from there.
    const args = ['image', 'pack', IMAGE, '--store', this.store, '--config', 'none', '--announce', ANNOUNCE]
    args.push('--compress', c, ...(c === 'zstd' ? ['--zstd-level', '3'] : []), '--json')
    const t = await timed(this.bin, args, { env: this.env })
    let out: Record<string, unknown>
    try {
      out = JSON.parse(t.stdout) as Record<string, unknown>
    } catch {
      throw contract(`stdout is not JSON: ${t.stdout.slice(0, 200)}`)
    }
    if (out.alreadyPacked === true) throw contract('pack reported alreadyPacked: the run measured nothing')
    const { archive, size, sha256, infoHash, pieceLength } = out
    if (typeof archive !== 'string' || typeof size !== 'number' || typeof sha256 !== 'string') {
      throw contract(`JSON lacks archive/size/sha256: ${t.stdout.slice(0, 300)}`)
    }
    if (typeof infoHash !== 'string' || typeof pieceLength !== 'number') {
      throw contract(`JSON lacks infoHash/pieceLength: ${t.stdout.slice(0, 300)}`)
    }
    const onDisk = statSync(archive).size
    if (onDisk !== size) throw contract(`archive ${archive} has ${onDisk} bytes, JSON says ${size}`)
    if (out.compression !== c) throw contract(`asked for --compress ${c}, JSON says ${String(out.compression)}`)
    return {
      wall: t.wall,
      rssKiB: t.rssKiB,
      user: t.user,
      sys: t.sys,
      outputBytes: size,
      sha256,
      infoHash,
      pieceLength,
    }
  }
}

/**
 * mktorrent cannot read a pipe (it needs the length first), so the baseline
 * runs its steps in sequence through a file: archive, then torrent, then the
 * SHA-256 that our manifest also carries. With --baseline-fsync the archive
 * is also fsync'd, as our pack does before it calls the archive done.
 */
const SCRIPTS: Record<Compression, string> = {
  none: 'tar -cf "$1" -C "$2" .',
  zstd: 'tar -cf - -C "$2" . | zstd -q -T1 -3 -o "$1" -',
}

export function baselineCommand(c: Compression, fsync: boolean, sha: Sha256Tool): string {
  return [
    'set -euo pipefail',
    SCRIPTS[c],
    ...(fsync ? ['sync "$1"'] : []),
    'mktorrent -p -l "$3" -a "$4" -o "$1.torrent" "$1" >/dev/null',
    SHA256[sha],
  ].join('\n')
}

export async function baseline(
  tree: string,
  outDir: string,
  c: Compression,
  pieceLength: number,
  fsync: boolean,
  sha: Sha256Tool,
): Promise<SideResult> {
  const archive = join(outDir, c === 'zstd' ? 'baseline.tar.zst' : 'baseline.tar')
  const log2 = Math.log2(pieceLength)
  if (!Number.isInteger(log2)) throw errors.usage(`piece length ${pieceLength} is not a power of two`)
  const script = baselineCommand(c, fsync, sha)
  const t = await timed('bash', ['-c', script, 'baseline', archive, tree, String(log2), ANNOUNCE])
  const sha256 = t.stdout.split(' ')[0] ?? ''
  if (!/^[0-9a-f]{64}$/.test(sha256)) throw errors.tool(sha, `unexpected output ${t.stdout.slice(0, 200)}`)
  return { wall: t.wall, rssKiB: t.rssKiB, user: t.user, sys: t.sys, outputBytes: statSync(archive).size, sha256 }
}
