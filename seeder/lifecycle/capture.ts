// `image capture`: a running golden client into a new image version, over
// ssh with rsync (docs/capture.md). The copy goes into the store's tmp/ and
// is renamed into place only when rsync finished, so a failed or interrupted
// capture leaves no version behind.
import { lstat, mkdir, rename, rm, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { errors } from '../../common/errors.ts'
import { firstExecutable } from '../../common/exec.ts'
import { formatRef, nextVersion, parseRef } from '../../common/names.ts'
import type { Store } from '../store/store.ts'
import { type LayoutResult, layoutFromLsblk, mountMap } from './layout.ts'
import { readMeta, writeLayout, writeMeta } from './meta.ts'
import { type CapturePlan, planCapture } from './mounts.ts'
import { readRemote } from './remote.ts'
import { type RsyncStats, runRsync } from './rsync.ts'
import { checkLocalFile, checkRemotePath, parseTarget, type SshTarget, sshDestination } from './target.ts'

export interface CaptureInit {
  /** `[USER@]HOST` */
  from: string
  /** `NAME` or `NAME@VERSION` */
  ref: string
  sshKey?: string | undefined
  sshPort?: number | undefined
  knownHosts?: string | undefined
  excludes?: string[] | undefined
  note?: string | undefined
  /** Capture this directory of the client as the image root (default "/"): partial captures and tests. */
  root?: string | undefined
  bwlimitKiB?: number | undefined
  signal?: AbortSignal | undefined
  onProgress?: ((bytes: number, percent: number) => void) | undefined
  /** Programs to run (default: ssh and rsync from PATH). */
  tools?: { ssh?: string; rsync?: string }
}

export interface CaptureResult {
  ref: string
  name: string
  version: string
  /** The version unchanged files are hard-linked to, if any. */
  previous: string | undefined
  host: string
  root: string
  plan: CapturePlan
  stats: RsyncStats
  layout: LayoutResult
  layoutFile: string | undefined
}

const MAX_EXCLUDES = 1000

function checkExcludes(list: string[]): string[] {
  if (list.length > MAX_EXCLUDES)
    throw errors.captureTarget('--exclude', `${list.length} patterns`, `at most ${MAX_EXCLUDES}`)
  for (const p of list) {
    // rsync reads each --exclude as one rule; a newline or a leading "+ "/"- " would change its meaning.
    // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing them is the point
    if (p.length === 0 || p.length > 4096 || /[\0-\x1f\x7f]/.test(p) || /^[-+!] /.test(p)) {
      throw errors.captureTarget(
        '--exclude',
        p,
        'a non-empty rsync pattern such as /srv/cache/* (no control characters, no "+ "/"- " prefix)',
      )
    }
  }
  return list
}

async function findTool(tool: string, given: string | undefined, pkg: string): Promise<string> {
  if (given !== undefined) return given
  const found = await firstExecutable((process.env.PATH ?? '/usr/bin:/bin').split(':').filter(Boolean), tool)
  if (found === undefined) throw errors.toolMissing(tool, 'on this server', pkg)
  return found
}

export async function captureImage(store: Store, init: CaptureInit): Promise<CaptureResult> {
  const { user, host } = parseTarget(init.from)
  const target: SshTarget = {
    user,
    host,
    port: init.sshPort,
    key: init.sshKey === undefined ? undefined : checkLocalFile('--ssh-key', init.sshKey),
    knownHosts: init.knownHosts === undefined ? undefined : checkLocalFile('--known-hosts', init.knownHosts),
  }
  if (init.sshPort !== undefined && (!Number.isInteger(init.sshPort) || init.sshPort < 1 || init.sshPort > 65535)) {
    throw errors.captureTarget('--ssh-port', String(init.sshPort), 'a port number from 1 to 65535')
  }
  const root = checkRemotePath('--root', init.root ?? '/')
  const userExcludes = checkExcludes(init.excludes ?? [])
  const r = parseRef(init.ref, 'image')
  const existing = await store.versions('image', r.name)
  const version = r.version ?? nextVersion(existing)
  const dest = store.treeDir('image', r.name, version)
  const exists = await lstat(dest).then(
    () => true,
    () => false,
  )
  if (exists) throw errors.exists('image', formatRef(r.name, version))
  const previous = existing.length > 0 ? existing[existing.length - 1] : undefined

  const ssh = await findTool('ssh', init.tools?.ssh, 'openssh-client')
  const rsync = await findTool('rsync', init.tools?.rsync, 'rsync')
  const signal = init.signal
  const facts = await readRemote(ssh, target, root, signal)
  if (facts.rsync === undefined)
    throw errors.toolMissing('rsync', `on the golden client ${sshDestination(target)}`, 'rsync')
  const plan = planCapture(facts.root, facts.mountinfo, facts.swaps, userExcludes)

  const tmp = await store.scratch('capture')
  try {
    const tree = join(tmp, 'tree')
    await mkdir(tree, { mode: 0o755 })
    const stats = await runRsync({
      rsync,
      ssh,
      target,
      root: facts.root,
      sources: plan.sources,
      excludes: plan.excludes,
      dest: tree,
      linkDest: previous === undefined ? undefined : store.treeDir('image', r.name, previous),
      bwlimitKiB: init.bwlimitKiB,
      ...(signal === undefined ? {} : { signal }),
      ...(init.onProgress === undefined ? {} : { onProgress: init.onProgress }),
    })
    // machine-id was left out (it is the client's identity); an empty file means "make one at first boot".
    if (
      await lstat(join(tree, 'etc')).then(
        (s) => s.isDirectory(),
        () => false,
      )
    ) {
      await writeFile(join(tree, 'etc', 'machine-id'), '', { mode: 0o444 })
    }
    if (signal?.aborted) throw errors.interrupted('capture')
    const layout = layoutFromLsblk(
      facts.lsblk,
      plan.rootMount?.majMin,
      mountMap(plan.captured, plan.rootMount, facts.root),
    )
    await mkdir(dirname(dest), { recursive: true })
    await rename(tree, dest)
    const source = `capture:${sshDestination(target)}:${facts.root}`
    const line = `capture: ${sshDestination(target)}:${facts.root} (${stats.files} files, ${stats.transferredBytes} of ${stats.totalBytes} bytes sent${previous === undefined ? '' : `, rest hard-linked to ${previous}`})`
    // The changelog goes on from the version this one was captured against (meta.ts).
    const before = previous === undefined ? undefined : await readMeta(store, r.name, previous)
    await writeMeta(store, r.name, version, {
      createdAt: new Date().toISOString(),
      source,
      ...(init.note === undefined ? {} : { note: init.note }),
      changelog: [...(before?.changelog ?? []), line],
    })
    await writeLayout(store, r.name, version, 'toml' in layout ? layout.toml : undefined)
    return {
      ref: formatRef(r.name, version),
      name: r.name,
      version,
      previous,
      host: sshDestination(target),
      root: facts.root,
      plan,
      stats,
      layout,
      layoutFile:
        'toml' in layout ? store.metaFile('image', r.name, version).replace(/\.json$/, '.layout.toml') : undefined,
    }
  } finally {
    await rm(tmp, { recursive: true, force: true })
  }
}
