// `image exec` and `image shell`: a command in a chroot of a copy of an image
// version; when it exits 0 the copy becomes the image's next version, with a
// changelog line (docs/image-edit.md). The copy is a real one (GNU cp -a,
// reflinked on btrfs/xfs), so the command can never change the version it
// started from, even where captures share inodes through --link-dest. It sits
// in the store's tmp/ until it is renamed into place: a failed or interrupted
// command leaves the store as it was. Versions are not packed here (nor by
// capture): `imgswarm image pack NAME@VER` when the result looks right.
import { mkdir as mkdirp, readFile, realpath, rename, rm, rmdir, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { errors } from '../../common/errors.ts'
import { formatRef, nextVersion } from '../../common/names.ts'
import { copyTree } from '../store/copy.ts'
import type { Store } from '../store/store.ts'
import { mountPointKind, prepareMountPoints, runInChroot } from './chroot.ts'
import { inheritLayout, readMeta, writeMeta } from './meta.ts'
import { killRootedIn } from './procs.ts'

export interface EditInit {
  /** NAME or NAME@VERSION: the version to start from (the latest by default). */
  ref: string
  argv: string[]
  /** Changelog label: "exec" or "shell". */
  label: 'exec' | 'shell'
  note?: string | undefined
  /** stdin is the user's terminal (image shell): the terminal's pty is made visible inside. */
  terminal?: boolean | undefined
  signal?: AbortSignal | undefined
}

export interface EditResult {
  from: string
  /** The new version, when the command exited 0. */
  ref: string | undefined
  status: number
  changelog: string
  resolvConf: boolean
}

const POLICY = '#!/bin/sh\n# imgswarm image exec: no services start inside the chroot (policy-rc.d(8))\nexit 101\n'

/** Mount points (in this process's mount namespace) at or below dir. */
export async function mountsUnder(dir: string): Promise<string[]> {
  const text = await readFile('/proc/self/mountinfo', 'utf8')
  return text
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((m) => m === dir || m.startsWith(`${dir}/`))
}

/** argv as a person would type it, for the changelog: words with anything unusual in single quotes. */
function shellQuote(argv: string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", `'\\''`)}'`)).join(' ')
}

export async function editImage(store: Store, init: EditInit): Promise<EditResult> {
  if (init.argv.length === 0)
    throw errors.usage('no command given', 'put it after --: imgswarm image exec NAME -- CMD ARGS...')
  const src = await store.resolve('image', init.ref)
  const from = formatRef(src.name, src.version)
  // The real path: the mount table and /proc/PID/root name it so, even when the store's root is a symlink.
  const tmp = await realpath(await store.scratch(init.label))
  const tree = join(tmp, 'tree')
  try {
    await copyTree(store.treeDir('image', src.name, src.version), tree, undefined, init.signal).catch((e) => {
      throw init.signal?.aborted ? errors.interrupted(`image ${init.label} of ${from}`) : e
    })
    if (init.signal?.aborted) throw errors.interrupted(`image ${init.label} of ${from}`)
    const { created, resolvConf } = await prepareMountPoints(tree, from)
    for (const d of created) await mkdirp(join(tree, d), { mode: 0o755 })
    // Debian's way to keep package scripts from starting services in a chroot; only when the image has none.
    const policy = join(tree, 'usr/sbin/policy-rc.d')
    // Checked like a mount point: a usr or sbin symlink would make the write land outside the tree.
    const addPolicy =
      (await mountPointKind(tree, 'usr/sbin')) === 'dir' &&
      (await mountPointKind(tree, 'usr/sbin/policy-rc.d')) === 'missing'
    if (addPolicy) await writeFile(policy, POLICY, { mode: 0o755, flag: 'wx' })

    const env: Record<string, string> =
      init.label === 'shell' ? { PS1: `(${from} edit) # ` } : { DEBIAN_FRONTEND: 'noninteractive' }
    const r = await runInChroot(
      {
        tree,
        stateFile: join(tmp, 'state'),
        argv: init.argv,
        env,
        terminal: init.terminal === true,
        signal: init.signal,
      },
      resolvConf,
    )
    // The PID namespace is gone, and its processes with it; this only double-checks.
    await killRootedIn(tree)
    const left = await mountsUnder(tmp)
    if (left.length > 0) throw errors.mountsLeft(left)
    if (r.interrupted) throw errors.interrupted(`image ${init.label} of ${from}`)
    if (r.setupError !== undefined) throw errors.chroot(from, r.setupError)
    const line = `${init.label}${init.label === 'shell' ? '' : `: ${shellQuote(init.argv)}`} (exit ${r.status})`
    if (r.status === 127 || r.status === 126) {
      throw errors.chroot(
        from,
        `${init.argv[0]} could not be run in the image (exit ${r.status}: not found or not executable)`,
      )
    }
    if (r.status !== 0) return { from, ref: undefined, status: r.status, changelog: line, resolvConf }

    // Checked again: the command may have made usr or usr/sbin a symlink out of the tree since.
    if (
      addPolicy &&
      (await mountPointKind(tree, 'usr/sbin')) === 'dir' &&
      (await mountPointKind(tree, 'usr/sbin/policy-rc.d')) === 'file' &&
      (await readFile(policy, 'utf8')) === POLICY
    )
      await rm(policy)
    for (const d of created.reverse()) await rmdir(join(tree, d)).catch(() => undefined)

    // The version number is taken only now: another version may have appeared while the command ran.
    const version = nextVersion(await store.versions('image', src.name))
    const dest = store.treeDir('image', src.name, version)
    await mkdirp(dirname(dest), { recursive: true })
    await rename(tree, dest).catch((e: NodeJS.ErrnoException) => {
      throw e.code === 'ENOTEMPTY' || e.code === 'EEXIST' ? errors.exists('image', formatRef(src.name, version)) : e
    })
    const prev = await readMeta(store, src.name, src.version)
    await writeMeta(store, src.name, version, {
      createdAt: new Date().toISOString(),
      source: `image:${from}`,
      note: init.note ?? line,
      changelog: [...(prev?.changelog ?? []), `${line} on ${from}`],
    })
    await inheritLayout(store, src.name, src.version, version)
    return { from, ref: formatRef(src.name, version), status: 0, changelog: line, resolvConf }
  } finally {
    // Never remove a tree with something still mounted in it: rm -r would walk into the mount.
    if ((await mountsUnder(tmp)).length === 0) await rm(tmp, { recursive: true, force: true })
  }
}
