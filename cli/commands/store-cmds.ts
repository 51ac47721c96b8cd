// `image …` and `override …`: the same verbs on the two kinds of tree.

import { join } from 'node:path'
import { Command, Option } from 'commander'
import { parseSize } from '../../common/config.ts'
import { errors } from '../../common/errors.ts'
import { parseRef } from '../../common/names.ts'
import { formatBytes } from '../../common/progress.ts'
import {
  checkSourceDir,
  type Kind,
  loadPublicKey,
  packVersion,
  treeTotals,
  type VersionInfo,
  verifyPacked,
} from '../../seeder/index.ts'
import { type CommonOpts, common, context, info, printJson, printTable, progress, warn } from '../shared.ts'
import { addImageOps } from './image-ops.ts'

function summary(v: VersionInfo) {
  return {
    kind: v.kind,
    name: v.name,
    version: v.version,
    ref: v.ref,
    path: v.path,
    createdAt: v.meta?.createdAt ?? null,
    source: v.meta?.source ?? null,
    note: v.meta?.note ?? null,
    // Written by image capture and image exec/shell (docs/image-edit.md): one line per step that made the version.
    changelog: (v.meta as { changelog?: string[] } | undefined)?.changelog ?? [],
    packed: v.packed
      ? {
          archive: v.packed.archive,
          torrent: v.packed.torrent,
          manifest: v.packed.manifestFile,
          signature: v.packed.signatureFile,
          size: v.packed.manifest.archive.size,
          sha256: v.packed.manifest.archive.sha256,
          compression: v.packed.manifest.archive.compression,
          infoHash: v.packed.manifest.torrent.infoHash,
          pieceLength: v.packed.manifest.torrent.pieceLength,
          files: v.packed.manifest.tree.files,
          treeBytes: v.packed.manifest.tree.bytes,
        }
      : null,
  }
}

export function storeCommands(kind: Kind): Command {
  const noun = kind
  const cmd = new Command(kind).description(
    kind === 'image'
      ? 'manage image versions: import a tree, pack it for the swarm, verify, list'
      : 'manage override trees (files laid over an image after install), same verbs as image',
  )

  common(cmd.command('import'))
    .description(`copy a directory tree into the store as a new ${noun} version`)
    .argument('<dir>', 'the tree to import, e.g. a chroot or a mounted golden disk')
    .argument('<name[@version]>', 'name, optionally with a version (default: next number)')
    .option('--note <text>', 'a note kept with the version (shown by show)')
    .addHelpText(
      'after',
      `\nEverything is preserved: owners, modes (setuid too), times, symlinks, hard links,\ndevice nodes, fifos, xattrs and holes. Run as root to keep owners.\n\nExample:\n  imgswarm ${noun} import /srv/golden/rootfs base     # creates base@1, then base@2, ...`,
    )
    .action(async (dir: string, ref: string, o: CommonOpts & { note?: string }) => {
      const { store } = context(o)
      parseRef(ref, kind)
      await checkSourceDir(dir)
      if (process.getuid?.() !== 0) warn('not running as root: file owners and device nodes cannot be preserved')
      const totals = treeTotals(dir)
      const bar = progress(o, `import ${parseRef(ref, kind).name}`, totals.bytes)
      const v = await store.import(kind, dir, ref, { note: o.note, onProgress: (b) => bar.update(b) })
      bar.update(totals.bytes)
      bar.finish(`imported ${v.ref}: ${totals.entries} entries, ${formatBytes(totals.bytes)}`)
      if (o.json) printJson(summary(v))
      else process.stdout.write(`${v.ref}\n`)
    })

  common(cmd.command('list'))
    .description(`list ${noun}s and their versions`)
    .argument('[name]', `only this ${noun}`)
    .action(async (name: string | undefined, o: CommonOpts) => {
      const { store } = context(o)
      const names = name === undefined ? await store.names(kind) : [parseRef(name, kind).name]
      const all: VersionInfo[] = []
      for (const n of names) for (const v of await store.versions(kind, n)) all.push(await store.info(kind, n, v))
      if (name !== undefined && all.length === 0) throw errors.notFound(kind, name)
      if (o.json) return printJson(all.map(summary))
      if (all.length === 0) {
        info(o, `no ${noun}s in ${store.root}; add one with: imgswarm ${noun} import DIR NAME`)
        return
      }
      printTable(
        ['NAME', 'VERSION', 'PACKED', 'ARCHIVE', 'FILES', 'CREATED', 'NOTE'],
        all.map((v) => [
          v.name,
          v.version,
          v.packed ? `yes (${v.packed.manifest.archive.compression})` : 'no',
          v.packed ? formatBytes(v.packed.manifest.archive.size) : '-',
          v.packed ? v.packed.manifest.tree.files : '-',
          v.meta?.createdAt.replace('T', ' ').slice(0, 19) ?? '-',
          v.meta?.note ?? '',
        ]),
      )
    })

  common(cmd.command('show'))
    .description(`show one ${noun} version in detail (the latest if no version is given)`)
    .argument('<name[@version]>')
    .action(async (ref: string, o: CommonOpts) => {
      const { store } = context(o)
      const r = await store.resolve(kind, ref)
      const v = await store.info(kind, r.name, r.version)
      const s = summary(v)
      if (o.json) return printJson(s)
      const rows: [string, string][] = [
        ['ref', s.ref],
        ['tree', s.path],
        ['created', s.createdAt ?? '-'],
        ['source', s.source ?? '-'],
        ['note', s.note ?? '-'],
        ...s.changelog.map((l, i): [string, string] => [i === 0 ? 'changelog' : '', l]),
      ]
      if (s.packed) {
        rows.push(
          ['archive', `${s.packed.archive} (${formatBytes(s.packed.size)}, ${s.packed.compression})`],
          ['sha256', s.packed.sha256],
          ['torrent', s.packed.torrent],
          ['info hash', s.packed.infoHash],
          ['piece size', formatBytes(s.packed.pieceLength)],
          ['files', `${s.packed.files} (${formatBytes(s.packed.treeBytes)} of content)`],
          ['manifest', `${s.packed.manifest} (+ .sig)`],
        )
      } else rows.push(['packed', `no: imgswarm ${noun} pack ${s.ref}`])
      printTable(['FIELD', 'VALUE'], rows)
    })

  common(cmd.command('rm'))
    .description(`remove a ${noun} version (tree and packed files)`)
    .argument('<name[@version]>')
    .option('--all', 'with a bare NAME: remove every version')
    .action(async (ref: string, o: CommonOpts & { all?: boolean }) => {
      const { store } = context(o)
      const r = parseRef(ref, kind)
      let targets: string[]
      if (r.version !== undefined) targets = [(await store.resolve(kind, ref)).version]
      else if (o.all) targets = await store.versions(kind, r.name)
      else throw errors.usage(`${ref} names every version`, `name one (${r.name}@VERSION) or add --all`)
      if (targets.length === 0) throw errors.notFound(kind, ref)
      for (const v of targets) await store.remove(kind, r.name, v)
      if (o.json) printJson({ removed: targets.map((v) => `${r.name}@${v}`) })
      else for (const v of targets) info(o, `removed ${r.name}@${v}`)
    })

  common(cmd.command('cp'))
    .description(`copy a ${noun} version to a new, unpacked version (to change it)`)
    .argument('<src[@version]>')
    .argument('<dst[@version]>', 'target; without a version, the next free number')
    .option('--note <text>', 'a note kept with the new version')
    .action(async (from: string, to: string, o: CommonOpts & { note?: string }) => {
      const { store } = context(o)
      const v = await store.copy(kind, from, to, o.note === undefined ? {} : { note: o.note })
      if (o.json) printJson(summary(v))
      else process.stdout.write(`${v.ref}\n`)
    })

  common(cmd.command('mv'))
    .description(`rename an unpacked ${noun} version (packed versions are immutable: use cp)`)
    .argument('<src[@version]>')
    .argument('<dst[@version]>')
    .action(async (from: string, to: string, o: CommonOpts) => {
      const { store } = context(o)
      const v = await store.move(kind, from, to)
      if (o.json) printJson(summary(v))
      else process.stdout.write(`${v.ref}\n`)
    })

  common(cmd.command('pack'))
    .description(`pack a ${noun} version into a tar archive, a private .torrent and a signed manifest`)
    .argument('<name[@version]>', 'the latest version if none is given')
    .addOption(new Option('--compress <algo>', 'archive compression').choices(['none', 'zstd']))
    .option('--zstd-level <n>', 'zstd level 1-19 (default 3)', (v) => Number.parseInt(v, 10))
    .option('--piece-size <size>', 'torrent piece size, a power of two (default: 1-4 MiB from the size)')
    .option('--announce <url...>', 'tracker announce URL(s); default SERVER_URL/announce')
    .option('--webseed <url...>', 'BEP 19 web seed base URL(s); default SERVER_URL/webseed/')
    .option('--no-xattrs', 'do not pack extended attributes (needs getfattr otherwise)')
    .addHelpText(
      'after',
      `\nThe archive is deterministic: the same tree gives the same bytes and info hash.\nOutput goes to STORE/packed/${kind === 'image' ? 'images' : 'overrides'}/NAME@VERSION.{tar[.zst],torrent,manifest.json,manifest.sig}.\nPacking a packed version does nothing: versions are immutable once packed.`,
    )
    .action(async (ref: string, o: PackCliOpts) => {
      const { store, config } = context(o)
      const r = await store.resolve(kind, ref)
      const compression = o.compress ?? config.compression
      const bar = progress(o, `pack ${r.name}@${r.version}`, 0)
      const res = await packVersion(store, kind, `${r.name}@${r.version}`, {
        compression,
        zstdLevel: o.zstdLevel ?? config.zstdLevel,
        pieceLength: o.pieceSize === undefined ? config.pieceLength : parseSize(o.pieceSize, '--piece-size'),
        announce: o.announce ?? (config.announce.length > 0 ? config.announce : [`${config.serverUrl}/announce`]),
        webseeds: o.webseed ?? (config.webseeds.length > 0 ? config.webseeds : [`${config.serverUrl}/webseed/`]),
        xattrs: o.xattrs !== false,
        onWarning: warn,
        onProgress: (done, total) => bar.update(done, total),
      })
      const m = res.info.manifest
      if (res.alreadyPacked) info(o, `${r.name}@${r.version} is already packed (versions are immutable)`)
      else
        bar.finish(`packed ${r.name}@${r.version}: ${formatBytes(m.archive.size)} archive, ${m.torrent.pieces} pieces`)
      const out = {
        ref: `${m.name}@${m.version}`,
        archive: res.info.archive,
        torrent: res.info.torrent,
        manifest: res.info.manifestFile,
        size: m.archive.size,
        sha256: m.archive.sha256,
        infoHash: m.torrent.infoHash,
        pieceLength: m.torrent.pieceLength,
        compression: m.archive.compression,
        alreadyPacked: res.alreadyPacked,
        skipped: res.stats.skipped,
      }
      if (o.json) return printJson(out)
      printTable(
        ['FIELD', 'VALUE'],
        [
          ['archive', out.archive],
          ['torrent', out.torrent],
          ['manifest', `${out.manifest} (+ .sig)`],
          ['sha256', out.sha256],
          ['info hash', out.infoHash],
        ],
      )
    })

  common(cmd.command('verify'))
    .description(`check a packed ${noun}: manifest signature, archive SHA-256, torrent info hash and piece hashes`)
    .argument('<name[@version]>')
    .option('--pubkey <file>', "public key to trust (default: the store's own key)")
    .action(async (ref: string, o: CommonOpts & { pubkey?: string }) => {
      const { store } = context(o)
      const r = await store.resolve(kind, ref)
      const p = await store.packed(kind, r.name, r.version)
      if (!p) throw errors.notPacked(`${r.name}@${r.version}`)
      const pub = await loadPublicKey(o.pubkey ?? join(store.keysDir, 'manifest-signing.pub'))
      const bar = progress(o, `verify ${r.name}@${r.version}`, p.manifest.archive.size)
      const rep = await verifyPacked(p, pub, { onProgress: (d, t) => bar.update(d, t) })
      bar.finish(`verified ${r.name}@${r.version}`)
      if (o.json) return printJson({ ref: `${r.name}@${r.version}`, ok: true, keyId: rep.keyId, checks: rep.checks })
      for (const c of rep.checks) process.stdout.write(`ok  ${c}\n`)
    })

  if (kind === 'image') addImageOps(cmd)
  return cmd
}

interface PackCliOpts extends CommonOpts {
  compress?: 'none' | 'zstd'
  zstdLevel?: number
  pieceSize?: string
  announce?: string[]
  webseed?: string[]
  xattrs?: boolean
}
