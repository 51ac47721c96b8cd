// Runs a command in a chroot of a private copy of an image (docs/image-edit.md).
// Everything happens in new mount and PID namespaces (`unshare --mount --pid
// --fork`, propagation private): the mounts never show in the server's mount
// table, and when the command ends the namespace's first process kills
// whatever the command left running, unmounts in reverse order, and exits; if
// anything survives that, the kernel tears the namespaces down with it.
//
// What is mounted (each mount point checked first: a symlink anywhere on the
// way is refused, since mount(8) would follow it out of the tree):
//   proc          a new proc (nosuid,nodev,noexec) that shows only the chroot's processes
//   sys           sysfs, read-only (nosuid,nodev,noexec)
//   dev           a small tmpfs (nosuid,noexec) with null zero full random urandom tty,
//                 not the server's /dev: nothing in the image can reach the server's disks
//   dev/pts       a new devpts instance (nosuid,noexec); dev/ptmx points into it (for the
//                 shell on a terminal, the server's /dev/pts, so the terminal is visible inside)
//   dev/shm       tmpfs (nosuid,nodev)
//   etc/resolv.conf  the server's, read-only, when the image has a regular file there
import { spawn } from 'node:child_process'
import { lstat, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { errors } from '../../common/errors.ts'
import { childrenOf } from './procs.ts'

// $1 tree, $2 state file (outside the tree), $3 bind resolv.conf (0|1), $4 the server's
// /dev/pts instead of a new instance (0|1: the shell on a terminal, whose pty must be
// visible inside for ttyname(3) and tools that reopen it), then the command.
// Runs as PID 1 of the new PID namespace; `kill -9 -1` there reaches only that namespace,
// and the guard on $$ makes sure it never runs anywhere else.
const SCRIPT = `t=$1; state=$2; resolv=$3; hostpts=$4; shift 4
done_=""
note() { echo "$*" >> "$state"; }
undo() {
  [ "$$" = 1 ] && kill -9 -1 2>/dev/null
  for p in $done_; do
    umount "$t/$p" 2>/dev/null || { sleep 0.2; umount "$t/$p" 2>/dev/null; } || { umount -l "$t/$p"; note "lazy $p"; }
  done
}
m() { p=$1; shift; if mount "$@" "$t/$p"; then done_="$p $done_"; else note "setup mount $p failed"; undo; exit 125; fi; }
[ "$$" = 1 ] || { note "setup not in a new PID namespace"; exit 125; }
m proc -t proc -o nosuid,nodev,noexec proc
m sys -t sysfs -o ro,nosuid,nodev,noexec sysfs
m dev -t tmpfs -o nosuid,noexec,mode=755,size=1m imgswarm-dev
for d in "null 1 3" "zero 1 5" "full 1 7" "random 1 8" "urandom 1 9" "tty 5 0"; do
  n=\${d%% *}; r=\${d#* }
  mknod -m 666 "$t/dev/$n" c $r || { note "setup mknod $n failed"; undo; exit 125; }
done
mkdir -m 755 "$t/dev/pts" && mkdir -m 1777 "$t/dev/shm" || { note "setup mkdir failed"; undo; exit 125; }
if [ "$hostpts" = 1 ] && mountpoint -q /dev/pts; then
  m dev/pts --bind -o nosuid,noexec /dev/pts
  mknod -m 666 "$t/dev/ptmx" c 5 2
else
  m dev/pts -t devpts -o newinstance,ptmxmode=0666,mode=620,nosuid,noexec devpts
  ln -s pts/ptmx "$t/dev/ptmx"
fi
m dev/shm -t tmpfs -o nosuid,nodev,mode=1777 shm
ln -s /proc/self/fd "$t/dev/fd"
ln -s /proc/self/fd/0 "$t/dev/stdin"; ln -s /proc/self/fd/1 "$t/dev/stdout"; ln -s /proc/self/fd/2 "$t/dev/stderr"
if [ "$resolv" = 1 ]; then m etc/resolv.conf --bind -o ro,nosuid,nodev,noexec /etc/resolv.conf; fi
note started
chroot "$t" "$@"
st=$?
note "status $st"
undo
exit $st
`

const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
/** How long the command has to end after SIGTERM before the whole namespace is killed. */
const GRACE_MS = 10_000

export interface ChrootRun {
  tree: string
  /** A file outside the tree the namespace's init writes its progress to. */
  stateFile: string
  argv: string[]
  /** Lines for the environment besides PATH, HOME, LANG and TERM. */
  env?: Record<string, string>
  /** The command talks to the user's terminal (image shell on a TTY): the server's /dev/pts is bound in. */
  terminal?: boolean
  signal?: AbortSignal | undefined
}

export interface ChrootResult {
  /** The command's exit status (128+N when a signal ended it). */
  status: number
  /** The command started (every mount was made). */
  started: boolean
  interrupted: boolean
  /** Why the mounts could not be made, when they were not. */
  setupError: string | undefined
  /** Mounts that needed a lazy unmount (still busy after the kill). */
  lazy: string[]
  resolvConf: boolean
}

type Kind = 'dir' | 'file' | 'symlink' | 'other' | 'missing'

async function kindOf(p: string): Promise<Kind> {
  try {
    const st = await lstat(p)
    return st.isSymbolicLink() ? 'symlink' : st.isDirectory() ? 'dir' : st.isFile() ? 'file' : 'other'
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 'missing'
    throw e
  }
}

/**
 * What is at `rel` inside the tree, refusing a symlink (or non-directory) on
 * the way: every component but the last must be a real directory.
 */
export async function mountPointKind(tree: string, rel: string): Promise<Kind> {
  const parts = rel.split('/')
  for (let i = 0; i < parts.length; i++) {
    const k = await kindOf(join(tree, ...parts.slice(0, i + 1)))
    if (i === parts.length - 1) return k
    if (k !== 'dir') return k === 'file' ? 'other' : k
  }
  return 'missing'
}

/** Checks (and makes, when missing) proc, sys and dev; says whether resolv.conf can be bound. */
export async function prepareMountPoints(
  tree: string,
  from: string,
): Promise<{ created: string[]; resolvConf: boolean }> {
  if ((await kindOf(tree)) !== 'dir') throw errors.chroot(from, 'the image root is not a directory')
  const created: string[] = []
  for (const d of ['proc', 'sys', 'dev']) {
    const k = await mountPointKind(tree, d)
    if (k === 'missing') created.push(d)
    else if (k !== 'dir') {
      throw errors.chroot(
        from,
        `/${d} in the image is ${k === 'symlink' ? 'a symlink' : 'not a directory'}; refusing to mount over it (it could lead out of the image)`,
      )
    }
  }
  const resolvConf =
    (await mountPointKind(tree, 'etc/resolv.conf')) === 'file' && (await kindOf('/etc/resolv.conf')) !== 'missing'
  return { created, resolvConf }
}

/**
 * Ends the command: SIGTERM, once, to what the namespace's init runs (looked
 * for every 250 ms: the command may not have started yet when the abort came),
 * and SIGKILL to the init, which takes the whole namespace, after the grace time.
 */
function stopper(unsharePid: number, graceMs: number): () => void {
  const since = Date.now()
  const told = new Set<number>()
  const tick = async () => {
    const inits = await childrenOf(unsharePid)
    if (Date.now() - since >= graceMs) for (const init of inits) signalPid(init, 'SIGKILL')
    else
      for (const init of inits)
        for (const c of await childrenOf(init)) {
          if (!told.has(c)) signalPid(c, 'SIGTERM')
          told.add(c)
        }
  }
  const run = () => {
    tick().catch(() => undefined)
  }
  run()
  const timer = setInterval(run, 250)
  return () => clearInterval(timer)
}

function signalPid(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig)
  } catch {
    // gone already
  }
}

export async function runInChroot(run: ChrootRun, resolvConf: boolean): Promise<ChrootResult> {
  const env: NodeJS.ProcessEnv = {
    PATH,
    HOME: '/root',
    LANG: 'C.UTF-8',
    TERM: process.env.TERM ?? 'dumb',
    ...run.env,
  }
  const child = spawn(
    'unshare',
    [
      '--mount',
      '--pid',
      '--fork',
      '--propagation',
      'private',
      '--',
      '/bin/sh',
      '-c',
      SCRIPT,
      'imgswarm-chroot',
      run.tree,
      run.stateFile,
      resolvConf ? '1' : '0',
      run.terminal ? '1' : '0',
      ...run.argv,
    ],
    { stdio: 'inherit', env },
  )
  let interrupted = false
  let cancel: (() => void) | undefined
  const onAbort = () => {
    interrupted = true
    if (child.pid !== undefined && cancel === undefined) cancel = stopper(child.pid, GRACE_MS)
  }
  run.signal?.addEventListener('abort', onAbort, { once: true })
  if (run.signal?.aborted) onAbort()
  let code: number
  try {
    code = await new Promise<number>((resolve, reject) => {
      child.on('error', (e) =>
        reject(
          (e as NodeJS.ErrnoException).code === 'ENOENT'
            ? errors.toolMissing('unshare', 'on this server', 'util-linux')
            : e,
        ),
      )
      child.on('close', (c, s) => resolve(c ?? 128 + (s === 'SIGKILL' ? 9 : 15)))
    })
  } finally {
    run.signal?.removeEventListener('abort', onAbort)
    cancel?.()
  }
  const state = (await readFile(run.stateFile, 'utf8').catch(() => '')).split('\n')
  const setup = state.find((l) => l.startsWith('setup '))
  const started = state.includes('started')
  const statusLine = state.find((l) => l.startsWith('status '))
  return {
    status: statusLine === undefined ? code : Number(statusLine.slice(7)),
    started,
    interrupted,
    setupError: setup?.slice(6) ?? (started ? undefined : `the namespace ended before the command ran (exit ${code})`),
    lazy: state.filter((l) => l.startsWith('lazy ')).map((l) => l.slice(5)),
    resolvConf,
  }
}
