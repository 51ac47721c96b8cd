// `archive extract|list`: the client's safe extractor, for operators.

import { mkdir, stat } from 'node:fs/promises'
import { Command } from 'commander'
import { extractArchive, listArchive, openArchive, showPath } from '../../common/archive/index.ts'
import { formatBytes } from '../../common/progress.ts'
import { type CommonOpts, common, printJson, progress, warn } from '../shared.ts'

const TYPE_CHAR: Record<string, string> = {
  file: '-',
  directory: 'd',
  symlink: 'l',
  link: 'h',
  char: 'c',
  block: 'b',
  fifo: 'p',
}

function modeString(type: string, mode: number): string {
  const bits = 'rwxrwxrwx'
  let s = TYPE_CHAR[type] ?? '?'
  for (let i = 0; i < 9; i++) s += mode & (1 << (8 - i)) ? bits[i] : '-'
  const a = s.split('')
  if (mode & 0o4000) a[3] = a[3] === 'x' ? 's' : 'S'
  if (mode & 0o2000) a[6] = a[6] === 'x' ? 's' : 'S'
  if (mode & 0o1000) a[9] = a[9] === 'x' ? 't' : 'T'
  return a.join('')
}

export function archiveCommands(): Command {
  const cmd = new Command('archive').description('inspect and safely unpack imgswarm (or any tar / tar.zst) archives')

  common(cmd.command('extract'))
    .description('extract an archive into a directory, refusing anything that would land outside it')
    .argument('<archive>', '.tar or .tar.zst (detected by content)')
    .argument('<dir>', 'target directory (created if missing)')
    .option('--no-same-owner', 'do not restore owners (the default when not root)')
    .addHelpText(
      'after',
      '\nHostile entries (../ paths, absolute paths, writes through symlinks, hard links\nout of the target, oversized headers) stop the extraction with a coded error\nand exit status 3. Nothing is ever written outside DIR.',
    )
    .action(async (archive: string, dir: string, o: CommonOpts & { sameOwner?: boolean }) => {
      const size = (await stat(archive)).size
      const bar = progress(o, 'extract', size)
      await mkdir(dir, { recursive: true })
      const res = await extractArchive(openArchive(archive, { onCompressedBytes: (n: number) => bar.update(n) }), dir, {
        ...(o.sameOwner === false ? { preserveOwner: false } : {}),
        onWarning: warn,
      })
      bar.finish(`extracted ${res.entries} entries (${formatBytes(res.bytes)}) into ${dir}`)
      if (o.json) printJson(res)
    })

  common(cmd.command('list'))
    .description('list the entries of an archive with owners, modes and sizes (like tar -tvf)')
    .argument('<archive>')
    .action(async (archive: string, o: CommonOpts) => {
      const all: unknown[] = []
      for await (const e of listArchive(openArchive(archive))) {
        const path = showPath(e.path)
        if (o.json) {
          all.push({
            path,
            type: e.type,
            mode: `0${e.mode.toString(8)}`,
            uid: e.uid,
            gid: e.gid,
            size: e.sparse ? e.sparse.realsize : e.size,
            mtime: e.mtime,
            linkpath: e.linkpath.length > 0 ? e.linkpath.toString('utf8') : undefined,
            dev: e.type === 'char' || e.type === 'block' ? [e.devmajor, e.devminor] : undefined,
            xattrs: e.xattrs.size > 0 ? [...e.xattrs.keys()] : undefined,
            sparse: e.sparse ? true : undefined,
          })
          continue
        }
        const size =
          e.type === 'char' || e.type === 'block'
            ? `${e.devmajor},${e.devminor}`
            : String(e.sparse ? e.sparse.realsize : e.size)
        const link =
          e.type === 'symlink'
            ? ` -> ${e.linkpath.toString('utf8')}`
            : e.type === 'link'
              ? ` link to ${e.linkpath.toString('utf8')}`
              : ''
        const when = new Date(e.mtime * 1000).toISOString().slice(0, 16).replace('T', ' ')
        process.stdout.write(
          `${modeString(e.type, e.mode)} ${e.uid}/${e.gid} ${size.padStart(10)} ${when} ${path}${link}${e.xattrs.size ? '  [xattrs]' : ''}\n`,
        )
      }
      if (o.json) printJson(all)
    })
  return cmd
}
