// Runs the image's post-install scripts (/etc/imgswarm/post-install/NN-*) in
// a chroot of the installed tree, in name order, with the node's variables
// in the environment. The contract is docs/post-install.md.
import { lstat } from 'node:fs/promises'
import { errors, type ImgswarmError } from '../../common/errors.ts'
import type { CommandRunner } from '../disks/index.ts'
import { chrootExec, listTargetDir, resolveInTarget, withChroot } from '../identity/index.ts'

export const SCRIPT_DIR = '/etc/imgswarm/post-install'
export const SCRIPT_NAME = /^[0-9]{2}-[A-Za-z0-9._-]+$/
export const DEFAULT_SCRIPT_TIMEOUT_MS = 10 * 60_000
export const DEFAULT_KEEP_LINES = 50

export interface PostInstallInit {
  /** The node's IMGSWARM_* variables (identity's nodeEnv); other names are ignored. */
  env: Record<string, string>
  /** Each line of output, as it comes. */
  onOutput?: (line: string, script: string) => void
  /** Skipped entries; default: say. */
  onWarning?: (msg: string) => void
  /** Called as each script starts. */
  say?: (msg: string) => void
  /** Per script; default 10 minutes. */
  timeoutMs?: number
  /** Lines of output kept for the error of a failing script; default 50. */
  keepLines?: number
  runner?: CommandRunner
  signal?: AbortSignal
}

export interface PostInstallResult {
  ran: string[]
  skipped: string[]
}

/** The error of a failing script carries what failed and how. */
export type PostInstallError = ImgswarmError & {
  script: string
  status: number | null
  signal: string | null
  timedOut: boolean
  output: string[]
}

export async function runPostInstall(target: string, init: PostInstallInit): Promise<PostInstallResult> {
  const warn = init.onWarning ?? init.say ?? (() => {})
  const { scripts, skipped } = await findScripts(target, warn)
  if (scripts.length === 0) return { ran: [], skipped }
  const env: Record<string, string> = { HOME: '/root', LC_ALL: 'C', DEBIAN_FRONTEND: 'noninteractive' }
  for (const [k, v] of Object.entries(init.env)) if (k.startsWith('IMGSWARM_')) env[k] = v
  const ran: string[] = []
  const chrootInit = {
    ...(init.runner === undefined ? {} : { runner: init.runner }),
    ...(init.signal === undefined ? {} : { signal: init.signal }),
  }
  await withChroot(
    target,
    async (root) => {
      for (const name of scripts) {
        init.say?.(`post-install script ${name}`)
        const r = await chrootExec(root, [`${SCRIPT_DIR}/${name}`], {
          env,
          timeoutMs: init.timeoutMs ?? DEFAULT_SCRIPT_TIMEOUT_MS,
          keepLines: init.keepLines ?? DEFAULT_KEEP_LINES,
          onLine: (line) => init.onOutput?.(line, name),
          ...(init.signal === undefined ? {} : { signal: init.signal }),
        })
        if (r.code !== 0 || r.timedOut) {
          const status = r.timedOut
            ? `timed out after ${Math.round((init.timeoutMs ?? DEFAULT_SCRIPT_TIMEOUT_MS) / 1000)} s`
            : r.code === null
              ? `killed by ${r.signal}`
              : `exit status ${r.code}`
          const e = errors.postInstall(name, status, r.lines)
          throw Object.assign(e, {
            script: name,
            status: r.code,
            signal: r.signal,
            timedOut: r.timedOut,
            output: r.lines,
          }) satisfies PostInstallError
        }
        ran.push(name)
      }
    },
    chrootInit,
  )
  return { ran, skipped }
}

/** Regular, executable files with a valid name, in byte order of their names. */
async function findScripts(target: string, warn: (m: string) => void) {
  const names = (await listTargetDir(target, SCRIPT_DIR)).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
  const scripts: string[] = []
  const skipped: string[] = []
  if (names.length === 0) return { scripts, skipped }
  const dir = await resolveInTarget(target, SCRIPT_DIR)
  for (const name of names) {
    const st = await lstat(`${dir}/${name}`)
    const why = !SCRIPT_NAME.test(name)
      ? 'its name is not NN-name (two digits, a dash, then A-Z a-z 0-9 . _ -)'
      : !st.isFile()
        ? 'not a regular file'
        : (st.mode & 0o111) === 0
          ? 'not executable'
          : undefined
    if (why === undefined) scripts.push(name)
    else {
      skipped.push(name)
      warn(`post-install: skipping ${SCRIPT_DIR}/${JSON.stringify(name).slice(1, -1)}: ${why}`)
    }
  }
  return { scripts, skipped }
}
