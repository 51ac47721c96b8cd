// `imgswarm publish DIR NAME`: any directory as a content version, packed
// for the swarm like an image. Writes to the store on this machine; a
// running `imgswarm serve` on the same store picks it up (within 5 s, or at
// once when --server is given and the admin token is readable).
import { Command, Option } from 'commander'
import { parseSize } from '../../common/config.ts'
import { errors } from '../../common/errors.ts'
import { formatRef, parseRef } from '../../common/names.ts'
import { formatBytes } from '../../common/progress.ts'
import { readAdminToken } from '../../seeder/api/auth.ts'
import { checkSourceDir, treeTotals } from '../../seeder/index.ts'
import { publishContent } from '../../seeder/publish/index.ts'
import { type CommonOpts, common, context, info, printJson, progress, warn } from '../shared.ts'

interface PublishFlags extends CommonOpts {
  version?: string
  note?: string
  public?: boolean
  compress?: 'none' | 'zstd'
  pieceSize?: string
  server?: string
}

const HELP = `
The directory is copied into STORE/content/NAME/VERSION (immutable from then on) and
packed like an image: deterministic tar, private .torrent, archive index and an
ed25519-signed manifest in STORE/packed/content/. Uncompressed (the default) lets
fetchers write pieces straight into their files; --compress zstd trades that for size.

Who may fetch it:
  --public   anyone who can reach the server's API (integrity is still guaranteed by the
             signature; confidentiality is not: see docs/security.md)
  default    only with the admin token (imgswarm fetch --token-file)

A running server on the same store seeds the new version within 5 seconds; with
--server URL (and the admin token readable here) it is told to at once.

Examples:
  imgswarm publish /srv/build/out build --public --note "commit 3f2a1c"   # build@1, build@2, ...
  imgswarm publish ./dataset data --version 2026-12 --server http://127.0.0.1:8470
  imgswarm fetch build --to /opt/build --server http://SERVER:8470 --pubkey-file server.pub`

async function tellServer(url: string, storeRoot: string): Promise<string> {
  const token = (process.env.IMGSWARM_TOKEN || undefined) ?? (await readAdminToken(storeRoot).catch(() => undefined))
  if (token === undefined) return 'no admin token readable here: the server picks the version up within 5 s'
  try {
    const res = await fetch(`${url.replace(/\/+$/, '')}/api/v1/seeder/refresh`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token.trim()}` },
      signal: AbortSignal.timeout(30_000),
    })
    if (res.ok) return `${url} seeds it now`
    return `${url} answered ${res.status} to the refresh: it picks the version up within 5 s if it serves this store`
  } catch (e) {
    return `${url} unreachable (${(e as Error).message}): a server on this store picks the version up within 5 s`
  }
}

export function publishCommand(): Command {
  return common(new Command('publish'))
    .description('publish any directory as a content version for `imgswarm fetch` (packed, signed, seeded)')
    .argument('<dir>', 'the directory to publish')
    .argument('<name[@version]>', 'content name, optionally with a version (default: the next number)')
    .option('--version <v>', 'the version (the same as NAME@V)')
    .option('--note <text>', 'a note kept with the version')
    .option('--public', 'fetchable without the admin token by anyone who reaches the server')
    .addOption(
      new Option('--compress <algo>', 'archive compression (default none: in-place fetch)').choices(['none', 'zstd']),
    )
    .option('--piece-size <size>', 'torrent piece size, a power of two (default: 1-4 MiB from the size)')
    .option('--server <url>', 'a running server on this store to tell at once (POST /api/v1/seeder/refresh)')
    .addHelpText('after', HELP)
    .action(async (dir: string, nameRef: string, o: PublishFlags) => {
      const { store, config } = context(o)
      const r = parseRef(nameRef, 'content')
      if (o.version !== undefined && r.version !== undefined && o.version !== r.version) {
        throw errors.usage(`${nameRef} and --version ${o.version} name two versions`, 'give the version once')
      }
      const ref =
        o.version === undefined
          ? nameRef
          : formatRef(r.name, parseRef(`${r.name}@${o.version}`, 'content').version as string)
      await checkSourceDir(dir)
      if (process.getuid?.() !== 0) warn('not running as root: file owners are recorded as this user')
      const totals = treeTotals(dir)
      const bar = progress(o, `publish ${r.name}`, totals.bytes)
      const res = await publishContent(
        store,
        dir,
        ref,
        { note: o.note, public: o.public === true, onImport: (b) => bar.update(b / 2, totals.bytes) },
        {
          compression: o.compress ?? 'none',
          pieceLength: o.pieceSize === undefined ? config.pieceLength : parseSize(o.pieceSize, '--piece-size'),
          announce: config.announce.length > 0 ? config.announce : [`${config.serverUrl}/announce`],
          webseeds: config.webseeds.length > 0 ? config.webseeds : [`${config.serverUrl}/webseed/`],
          onWarning: warn,
          onProgress: (done, total) => bar.update(total / 2 + done / 2, total),
        },
      )
      const m = res.pack.info.manifest
      bar.finish(
        `published ${res.version.ref}: ${totals.entries} entries, ${formatBytes(m.archive.size)} archive, ${m.torrent.pieces} pieces`,
      )
      const told = o.server === undefined ? undefined : await tellServer(o.server, store.root)
      if (told !== undefined) info(o, told)
      const out = {
        ref: res.version.ref,
        name: res.version.name,
        version: res.version.version,
        public: o.public === true,
        size: m.archive.size,
        sha256: m.archive.sha256,
        infoHash: m.torrent.infoHash,
        compression: m.archive.compression,
        files: m.tree.files,
        archive: res.pack.info.archive,
        manifest: res.pack.info.manifestFile,
        server: told ?? null,
      }
      if (o.json) printJson(out)
      else process.stdout.write(`${out.ref}\n`)
    })
}
