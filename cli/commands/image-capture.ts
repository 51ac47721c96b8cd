// `image capture`: pull a running golden client into a new image version (docs/capture.md).
import type { Command } from 'commander'
import { errors } from '../../common/errors.ts'
import { formatBytes } from '../../common/progress.ts'
import { type CaptureResult, captureImage, DEFAULT_EXCLUDES, REAL_FS } from '../../seeder/lifecycle/index.ts'
import { type CommonOpts, common, context, info, printJson, progress, warn, wholeNumber } from '../shared.ts'

interface CaptureOpts extends CommonOpts {
  from: string
  sshKey?: string
  sshPort?: number
  knownHosts?: string
  exclude?: string[]
  note?: string
  root?: string
  bwlimit?: number
}

const HELP = `
How it works: one ssh session reads the client's mounts, swap files and disks;
then rsync -aHAXS --numeric-ids -x -R runs over ssh (the client runs
"rsync --server" for this session only: no rsync daemon, nothing left open).
Only disk file systems are copied (${REAL_FS.join(', ')}); proc, sysfs, tmpfs,
network (nfs, cifs, fuse.sshfs...) and bind mounts are left out, as are:
  ${DEFAULT_EXCLUDES.join(' ')}
(the directories stay, empty; machine-id is kept as an empty file).

The copy lands in STORE/tmp/ and is renamed into place when rsync is done: a
failed or interrupted capture leaves no version. Capturing into an image that
has versions makes the next one with --link-dest=<previous version>, so
unchanged files are hard links (no new space) and only changes are sent.
The client's disk layout is stored as STORE/meta/images/NAME/VER.layout.toml.

Examples:
  imgswarm image capture --from root@golden01 base
  imgswarm image capture --from admin@10.0.0.5 base --ssh-key ~/.ssh/capture \\
      --exclude '/home/*' --exclude '/var/cache/apt/archives/*.deb' --note "after driver update"
Needs key-based ssh (no prompts: BatchMode) and rsync on both ends. docs/capture.md`

function report(o: CaptureOpts, r: CaptureResult): void {
  const s = r.stats
  const pct = s.totalBytes > 0 ? ((100 * s.transferredBytes) / s.totalBytes).toFixed(1) : '0.0'
  info(o, `captured ${r.ref} from ${r.host}:${r.root}: ${s.files} files, ${formatBytes(s.totalBytes)}`)
  info(
    o,
    `  sent ${formatBytes(s.transferredBytes)} of ${formatBytes(s.totalBytes)} (${pct}%)${r.previous === undefined ? '' : `; the rest is hard-linked to ${r.name}@${r.previous}`}; ${formatBytes(s.wireBytes)} on the wire`,
  )
  info(o, `  file systems: ${r.plan.captured.map((m) => `${m.mountPoint} (${m.fsType})`).join(', ')}`)
  for (const k of r.plan.skipped) info(o, `  left out: ${k.mountPoint} (${k.fsType}): ${k.why}`)
  if ('toml' in r.layout) {
    info(o, `  disk layout of ${r.layout.disk}: ${r.layoutFile}`)
    for (const n of r.layout.notes) info(o, `    ${n}`)
  } else warn(`no disk layout recorded: ${r.layout.reason}`)
  if (s.vanished) warn('some files vanished on the client while it was read (rsync exit 24); they are not in the image')
}

export function addCaptureCommand(image: Command): void {
  common(image.command('capture'))
    .description('capture a running golden client over ssh + rsync into a new image version')
    .argument('<name[@version]>', 'image to capture into (default: its next version)')
    .requiredOption('--from <[user@]host>', 'the golden client (ssh login, root or a user that can read everything)')
    .option('--ssh-key <file>', 'private key for ssh (default: ssh-agent and ~/.ssh)')
    .option('--ssh-port <n>', 'ssh port (default 22)', wholeNumber('--ssh-port', 1, 65535))
    .option(
      '--known-hosts <file>',
      'known_hosts file to check the client against (strict), instead of ~/.ssh/known_hosts',
    )
    .option('--exclude <pattern...>', 'more rsync patterns to leave out, anchored at the root: /home/* /srv/cache/')
    .option('--note <text>', 'a note kept with the version')
    .option(
      '--root <dir>',
      'capture this directory of the client as the image root (default /): partial captures, tests',
    )
    .option(
      '--bwlimit <KiB/s>',
      "cap rsync's bandwidth so the client keeps working",
      wholeNumber('--bwlimit', 1, 100_000_000),
    )
    .addHelpText('after', HELP)
    .action(async (ref: string, o: CaptureOpts) => {
      const { store } = context(o)
      if (process.getuid?.() !== 0) warn('not running as root: file owners and device nodes cannot be preserved')
      const ac = new AbortController()
      const stop = () => ac.abort()
      process.once('SIGINT', stop)
      process.once('SIGTERM', stop)
      const bar = progress(o, `capture ${ref}`, 0)
      try {
        const r = await captureImage(store, {
          from: o.from,
          ref,
          sshKey: o.sshKey,
          sshPort: o.sshPort,
          knownHosts: o.knownHosts,
          excludes: o.exclude,
          note: o.note,
          root: o.root,
          bwlimitKiB: o.bwlimit,
          signal: ac.signal,
          onProgress: (bytes, pct) => bar.update(bytes, pct > 0 ? Math.round((bytes * 100) / pct) : 0),
        })
        bar.finish(`captured ${r.ref}`)
        report(o, r)
        if (o.json) {
          printJson({
            ref: r.ref,
            previous: r.previous === undefined ? null : `${r.name}@${r.previous}`,
            host: r.host,
            root: r.root,
            path: store.treeDir('image', r.name, r.version),
            stats: r.stats,
            captured: r.plan.captured,
            skipped: r.plan.skipped,
            excludes: r.plan.excludes,
            layoutFile: r.layoutFile ?? null,
            layoutReason: 'reason' in r.layout ? r.layout.reason : null,
          })
        } else process.stdout.write(`${r.ref}\n`)
      } catch (e) {
        if (ac.signal.aborted) throw errors.interrupted('capture')
        throw e
      } finally {
        process.off('SIGINT', stop)
        process.off('SIGTERM', stop)
      }
    })
}
