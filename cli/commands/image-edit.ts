// `image exec`, `image shell` and `image diff` (docs/image-edit.md).
import type { Command } from 'commander'
import { errors, ImgswarmError } from '../../common/errors.ts'
import { type DiffStats, diffTrees, editImage, formatDiff } from '../../seeder/lifecycle/index.ts'
import { type CommonOpts, common, context, info, printJson } from '../shared.ts'

interface EditOpts extends CommonOpts {
  note?: string
}

const EDIT_HELP = `
The version is copied into the store's tmp/ (cp -a: a real copy, so the old
version never changes) and the command runs in a chroot of the copy, in new
mount and PID namespaces: a new proc, a read-only sysfs, a small /dev of its
own (null zero full random urandom tty, devpts, shm; not the server's disks)
and the server's resolv.conf (read-only). A symlinked /proc, /sys or /dev in
the image is refused. When the command ends, anything it left running is
killed and the mounts go, in reverse order. Exit 0: the copy becomes the
next version, with a changelog line (not packed: run image pack). Anything
else, or Ctrl-C/SIGTERM: no version, the store as it was, and imgswarm exits
with the command's status (130 when interrupted). docs/image-edit.md`

async function runEdit(ref: string, argv: string[], o: EditOpts, label: 'exec' | 'shell'): Promise<void> {
  const { store } = context(o)
  const ac = new AbortController()
  const stop = () => ac.abort()
  // Kept on (not once) for the whole run: a second Ctrl-C must not kill imgswarm before it has cleaned up.
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
  try {
    const terminal = label === 'shell' && process.stdin.isTTY === true
    const r = await editImage(store, { ref, argv, label, note: o.note, terminal, signal: ac.signal })
    if (r.ref === undefined) {
      const e = errors.execFailed(label === 'shell' ? 'the shell' : argv.join(' '), `status ${r.status}`)
      // The command's own status, so scripts can tell apt-get's 100 from a missing package list.
      throw new ImgswarmError(e.code, e.message, {
        ...(e.hint === undefined ? {} : { hint: e.hint }),
        exitCode: r.status,
      })
    }
    if (o.json) printJson({ ...r, path: store.treeDir('image', ...splitRef(r.ref)) })
    else {
      info(o, `${r.changelog}: new version ${r.ref} (from ${r.from}); pack it with: imgswarm image pack ${r.ref}`)
      process.stdout.write(`${r.ref}\n`)
    }
  } finally {
    process.off('SIGINT', stop)
    process.off('SIGTERM', stop)
  }
}

function splitRef(ref: string): [string, string] {
  const at = ref.lastIndexOf('@')
  return [ref.slice(0, at), ref.slice(at + 1)]
}

async function runDiff(a: string, b: string, o: CommonOpts): Promise<void> {
  const { store } = context(o)
  try {
    const ra = await store.resolve('image', a)
    const rb = await store.resolve('image', b.startsWith('@') ? `${ra.name}${b}` : b)
    const stats: DiffStats = { entries: 0, sameInode: 0, filesRead: 0, bytesRead: 0 }
    const entries = await diffTrees(
      store.treeDir('image', ra.name, ra.version),
      store.treeDir('image', rb.name, rb.version),
      stats,
    ).catch((e: NodeJS.ErrnoException) => {
      throw errors.diffRead(`${a} and ${b}`, e.message)
    })
    if (o.json)
      printJson({
        a: `${ra.name}@${ra.version}`,
        b: `${rb.name}@${rb.version}`,
        same: entries.length === 0,
        changes: entries,
        stats,
      })
    else process.stdout.write(formatDiff(entries))
    process.exitCode = entries.length === 0 ? 0 : 1
  } catch (e) {
    // diff(1)'s convention: 0 same, 1 different, 2 trouble.
    if (e instanceof ImgswarmError)
      throw new ImgswarmError(e.code, e.message, { ...(e.hint === undefined ? {} : { hint: e.hint }), exitCode: 2 })
    throw e
  }
}

export function addEditCommands(image: Command): void {
  common(image.command('exec'))
    .description('run a command in a chroot of a copy of an image; exit 0 makes it the next version (apt-get upgrade)')
    .argument('<name[@version]>', 'the version to start from (default: the latest)')
    .argument('<cmd...>', 'the command and its arguments, after --')
    .option('--note <text>', 'note for the new version (default: the changelog line)')
    .addHelpText(
      'after',
      `${EDIT_HELP}\n\nExample:\n  imgswarm image exec base -- sh -c 'apt-get update && apt-get -y upgrade'`,
    )
    .action((ref: string, argv: string[], o: EditOpts) => runEdit(ref, argv, o, 'exec'))

  common(image.command('shell'))
    .description('a shell in a chroot of a copy of an image; "exit" makes it the next version')
    .argument('<name[@version]>', 'the version to start from (default: the latest)')
    .option('--note <text>', 'note for the new version')
    .addHelpText(
      'after',
      `${EDIT_HELP}\n\nThe shell is /bin/bash if the image has it, else /bin/sh. Leave with "exit" to keep\nthe changes as a new version, "exit 1" (or any non-zero status) to throw them away.\nIt reads commands from stdin when that is not a terminal:\n  printf 'echo hi > /x\\nexit\\n' | imgswarm image shell base`,
    )
    .action((ref: string, o: EditOpts) =>
      runEdit(
        ref,
        ['/bin/sh', '-c', 'if [ -x /bin/bash ]; then exec /bin/bash -i; else exec /bin/sh -i; fi'],
        o,
        'shell',
      ),
    )

  common(image.command('diff'))
    .description('list the files that differ between two image versions')
    .argument('<a>', 'NAME@VERSION (or NAME: the latest)')
    .argument('<b>', 'NAME@VERSION, or @VERSION for the same name as <a>')
    .addHelpText(
      'after',
      `\nOutput: "+ path" added in B, "- path" removed, "M path (content, mode 644->600,\nowner 0:0->1000:1000, target a->b, type file->dir, device number)". Files that\nare one inode in both (hard links) are equal without being read. Exit status as\ndiff(1): 0 same, 1 different, 2 trouble.\n\nExample:\n  imgswarm image diff base@3 @4`,
    )
    .action((a: string, b: string, o: CommonOpts) => runDiff(a, b, o))
}
