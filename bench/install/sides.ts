// The two things compared, each under GNU time into a fresh empty directory:
// our `imgswarm install --target-dir` and `curl WEBSEED | tar -x`. Plus the
// check that both really installed the image.
import { createHash } from 'node:crypto'
import { closeSync, lstatSync, openSync, readdirSync, readlinkSync, readSync } from 'node:fs'
import { join, relative } from 'node:path'
import { errors } from '../../common/errors.ts'
import { timed } from '../pack/proc.ts'
import { type Phase, timedPhases } from './phases.ts'
import { HOSTNAME, type Server, SYSTEM_DIR } from './server.ts'

export interface SideResult {
  wall: number
  rssKiB: number
  user: number
  sys: number
  /** CPU seconds the server spent meanwhile (filled in by the caller). */
  serverCpu?: number
  /** Ours only: where the bytes came from, and the wall time of each install step. */
  bytesFromPeers?: number
  bytesFromWebseed?: number
  phases?: Phase[]
}

interface Summary {
  inPlace?: boolean
  image_stats?: { bytesFromPeers?: number; bytesFromWebseed?: number; piecesFailed?: number }
}

export function oursArgs(s: Server, target: string): string[] {
  return [
    'install',
    '--server',
    s.url,
    '--pubkey',
    s.pubkey,
    '--target-dir',
    target,
    '--hostname',
    HOSTNAME,
    '--seed-time',
    '0',
    '--post',
    'none',
    '--cmdline',
    'none',
    '--json',
    '--quiet',
  ]
}

export async function ours(
  bin: string,
  env: NodeJS.ProcessEnv,
  s: Server,
  target: string,
  workDir: string,
): Promise<SideResult> {
  const t = await timedPhases(bin, oursArgs(s, target), env, workDir)
  let summary: Summary
  try {
    summary = JSON.parse(t.stdout) as Summary
  } catch {
    throw errors.tool('imgswarm install --json', `stdout is not JSON: ${t.stdout.slice(0, 200)}`)
  }
  if (summary.inPlace !== true) throw errors.tool('imgswarm install', 'the summary says inPlace is not true')
  const st = summary.image_stats ?? {}
  return {
    wall: t.wall,
    rssKiB: t.rssKiB,
    user: t.user,
    sys: t.sys,
    bytesFromPeers: st.bytesFromPeers ?? 0,
    bytesFromWebseed: st.bytesFromWebseed ?? 0,
    phases: t.phases,
  }
}

export const BASELINE_SCRIPT = 'set -o pipefail; curl -sf "$1" | tar -x --numeric-owner -C "$2"'

export async function baseline(s: Server, target: string): Promise<SideResult> {
  const t = await timed('bash', ['-c', BASELINE_SCRIPT, 'baseline', s.url + s.image.webseed, target])
  return { wall: t.wall, rssKiB: t.rssKiB, user: t.user, sys: t.sys }
}

const HASH_BUF = Buffer.alloc(1 << 20)

/** Streamed through one buffer: the bench's own memory stays small next to the sides it measures. */
function sha256(file: string): string {
  const h = createHash('sha256')
  const fd = openSync(file, 'r')
  try {
    for (let n = readSync(fd, HASH_BUF); n > 0; n = readSync(fd, HASH_BUF)) h.update(HASH_BUF.subarray(0, n))
  } finally {
    closeSync(fd)
  }
  return h.digest('hex')
}

export interface CheckResult {
  entries: number
  hashed: number
  hashedBytes: number
}

/**
 * Every entry of the image is in the target with the same type, mode, owner
 * and size (symlinks: the same target). File contents are compared by
 * SHA-256 for the largest file and every 97th regular file. etc/, where
 * the install writes the node's identity, is left out.
 */
export function check(tree: string, target: string): CheckResult {
  const out: CheckResult = { entries: 0, hashed: 0, hashedBytes: 0 }
  let largest: { rel: string; size: number } | undefined
  let regular = 0
  const bad = (rel: string, why: string) => errors.tool('bench check', `${rel}: ${why} (target ${target})`)
  for (const e of readdirSync(tree, { withFileTypes: true, recursive: true })) {
    const src = join(e.parentPath, e.name)
    const rel = relative(tree, src)
    if (rel === SYSTEM_DIR || rel.startsWith(`${SYSTEM_DIR}/`)) continue
    const a = lstatSync(src)
    let b: ReturnType<typeof lstatSync>
    try {
      b = lstatSync(join(target, rel))
    } catch {
      throw bad(rel, 'missing')
    }
    const type = (m: number) => m & 0o170000
    if (type(a.mode) !== type(b.mode)) throw bad(rel, 'wrong type')
    if (!a.isSymbolicLink() && a.mode !== b.mode)
      throw bad(rel, `mode ${b.mode.toString(8)}, want ${a.mode.toString(8)}`)
    if (a.uid !== b.uid || a.gid !== b.gid) throw bad(rel, `owner ${b.uid}:${b.gid}, want ${a.uid}:${a.gid}`)
    if (a.isSymbolicLink() && readlinkSync(src) !== readlinkSync(join(target, rel))) throw bad(rel, 'symlink target')
    if (a.isFile()) {
      if (a.size !== b.size) throw bad(rel, `size ${b.size}, want ${a.size}`)
      if (!largest || a.size > largest.size) largest = { rel, size: a.size }
      if (regular++ % 97 === 0) hash(rel, a.size)
    }
    out.entries++
  }
  if (largest) hash(largest.rel, largest.size)
  return out

  function hash(rel: string, size: number): void {
    if (sha256(join(tree, rel)) !== sha256(join(target, rel))) throw bad(rel, 'content differs')
    out.hashed++
    out.hashedBytes += size
  }
}
