// The copy itself: `rsync -aHAXS --numeric-ids -x -R` over ssh into a fresh
// directory, optionally against the previous version (--link-dest), with
// --info=progress2 parsed for a progress bar and --stats for the report.
import { errors } from '../../common/errors.ts'
import { firstLines, runTool } from './run.ts'
import { rsyncPrefix, rsyncShell, type SshTarget } from './target.ts'

export interface RsyncStats {
  /** Regular files in the captured tree and their bytes. */
  files: number
  totalBytes: number
  /** Files whose content was sent (not hard-linked to the previous version) and their bytes. */
  transferredFiles: number
  transferredBytes: number
  /** File data that went over the wire (rsync's "Literal data"). */
  literalBytes: number
  /** Everything the server received, protocol included. */
  wireBytes: number
  /** rsync exit 24: files vanished on the live client while it was read (normal, reported). */
  vanished: boolean
}

export interface RsyncJob {
  rsync: string
  ssh: string
  target: SshTarget
  /** Remote capture root, resolved. */
  root: string
  /** Paths relative to the root, "" first (CapturePlan.sources). */
  sources: string[]
  excludes: string[]
  dest: string
  linkDest: string | undefined
  bwlimitKiB: number | undefined
  signal?: AbortSignal
  onProgress?: (bytes: number, percent: number) => void
}

const num = (s: string | undefined) => (s === undefined ? 0 : Number(s.replace(/,/g, '')))

export function parseStats(out: string): Omit<RsyncStats, 'vanished'> {
  const get = (re: RegExp) => num(re.exec(out)?.[1])
  return {
    files: get(/^Number of files: [\d,]+ \(reg: ([\d,]+)/m),
    totalBytes: get(/^Total file size: ([\d,]+)/m),
    transferredFiles: get(/^Number of regular files transferred: ([\d,]+)/m),
    transferredBytes: get(/^Total transferred file size: ([\d,]+)/m),
    literalBytes: get(/^Literal data: ([\d,]+)/m),
    wireBytes: get(/^Total bytes received: ([\d,]+)/m),
  }
}

export function rsyncArgs(j: RsyncJob): string[] {
  const args = ['-aHAXS', '--numeric-ids', '-x', '-R', '--stats', '--info=progress2', '-e', rsyncShell(j.ssh, j.target)]
  if (j.linkDest !== undefined) args.push(`--link-dest=${j.linkDest}`)
  if (j.bwlimitKiB !== undefined) args.push(`--bwlimit=${j.bwlimitKiB}`)
  for (const e of j.excludes) args.push(`--exclude=${e}`)
  const base = j.root === '/' ? '' : j.root
  // "ROOT/./PATH": with -R, only what follows "/./" is kept, so every source lands at its place in the tree.
  for (const s of j.sources) args.push(`${rsyncPrefix(j.target)}${base}/./${s}`)
  args.push(`${j.dest}/`)
  return args
}

export async function runRsync(j: RsyncJob): Promise<RsyncStats> {
  let partial = ''
  const onStdout = (chunk: string) => {
    partial += chunk
    const parts = partial.split(/[\r\n]/)
    partial = parts.pop() ?? ''
    for (const p of parts) {
      const m = /^\s*([\d,]+)\s+(\d+)%/.exec(p)
      if (m) j.onProgress?.(num(m[1]), Number(m[2]))
    }
  }
  let r: Awaited<ReturnType<typeof runTool>>
  try {
    r = await runTool(j.rsync, rsyncArgs(j), { onStdout, ...(j.signal === undefined ? {} : { signal: j.signal }) })
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw errors.toolMissing('rsync', 'on this server', 'rsync')
    throw e
  }
  if (j.signal?.aborted) throw errors.interrupted('capture')
  if (r.code !== 0 && r.code !== 24) {
    const detail = firstLines(r.stderr.replace(/\r/g, '\n'))
    if (/rsync: (command )?not found|rsync: No such file/i.test(r.stderr) || r.code === 127) {
      throw errors.toolMissing('rsync', 'on the golden client', 'rsync')
    }
    throw errors.captureRsync(r.code ?? r.signal ?? 'killed', detail)
  }
  return { ...parseStats(r.stdout), vanished: r.code === 24 }
}
