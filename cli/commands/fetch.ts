// `imgswarm fetch NAME[@VER] --to DIR`: published content from the swarm, on
// any machine. Loads only the client side (no server modules).
import { readFileSync } from 'node:fs'
import { Command, Option } from 'commander'
import { loadPubkey } from '../../client/config/index.ts'
import { runFetch, type SeedPolicy } from '../../client/fetch/index.ts'
import { errors } from '../../common/errors.ts'
import { parseRef } from '../../common/names.ts'
import { Progress } from '../../common/progress.ts'
import { wholeNumber } from '../shared.ts'

interface FetchFlags {
  to: string
  server?: string
  pubkey?: string
  pubkeyFile?: string
  token?: string
  tokenFile?: string
  update?: boolean
  seedWhileNeeded?: boolean
  seedFor?: number
  seedQuiet: number
  seedMax: number
  seed: boolean
  exec?: string
  port?: number
  json?: boolean
  quiet?: boolean
}

const HELP = `
What it does, in order:
  1. asks SERVER where NAME[@VER] is (GET /api/v1/fetch/NAME[/VER]: the latest packed
     version when no version is given) and fetches its manifest, signature and torrent;
  2. verifies the manifest's ed25519 signature against the pinned key (--pubkey), and
     the torrent and archive index against the manifest. Nothing is written before that;
  3. joins the swarm and writes each verified piece straight into its file under DIR
     (the same safety rules as an image install: no path leaves DIR, no device nodes
     unless root), then checks the whole archive's SHA-256 against the manifest;
  4. seeds to the other fetchers (default: while a peer or the tracker still says
     someone is downloading, at most --seed-max seconds);
  5. runs --exec CMD in DIR and exits with its status.

DIR must not exist, be empty, or hold an interrupted fetch of the same content (it
resumes). A non-empty DIR is refused unless --update: then the new version is built in
.DIR.imgswarm-fetch-HASH beside it and renamed into place after it verified and seeding
ended. Any user can fetch into a directory it can write; owners are restored only as root.

Content published without --public needs the admin token (--token-file, or the
IMGSWARM_TOKEN environment variable); it then comes from the server's seeder and peers only.

Examples:
  imgswarm fetch assets --to /srv/assets --server http://10.0.0.1:8470 --pubkey-file server.pub
  imgswarm fetch build@42 --to /opt/build --server http://10.0.0.1:8470 \\
      --pubkey-file server.pub --update --seed-for 60 --exec ./install.sh

Exit status: CMD's with --exec, else 0 fetched and verified, 2 bad usage, 3 hostile or
corrupt data from the network, 1 anything else. Docs: docs/content.md`

function token(f: FetchFlags): string | undefined {
  if (f.tokenFile !== undefined) {
    try {
      return readFileSync(f.tokenFile, 'utf8').trim() || undefined
    } catch (e) {
      throw errors.usage(`--token-file ${f.tokenFile}: ${(e as NodeJS.ErrnoException).code ?? e}`)
    }
  }
  return (f.token ?? process.env.IMGSWARM_TOKEN)?.trim() || undefined
}

function policy(f: FetchFlags): SeedPolicy {
  if (!f.seed) return { mode: 'none' }
  if (f.seedFor !== undefined) {
    if (f.seedWhileNeeded) throw errors.usage('--seed-for and --seed-while-needed exclude each other')
    return { mode: 'for', ms: f.seedFor * 1000 }
  }
  return { mode: 'while-needed', quietMs: f.seedQuiet * 1000, maxMs: f.seedMax * 1000 }
}

export function fetchCommand(): Command {
  return new Command('fetch')
    .description('fetch published content from the swarm into a directory, verify it, seed it, run a command')
    .argument('<name[@version]>', 'content name, optionally with a version (default: the latest packed)')
    .requiredOption('--to <dir>', 'target directory: new, empty, or (with --update) replaced')
    .option('--server <url>', 'the imgswarm server (env IMGSWARM_SERVER_URL), e.g. http://10.0.0.1:8470')
    .option('--pubkey <base64>', "the server's manifest-signing public key, raw base64 (or a PEM file path)")
    .option('--pubkey-file <file>', 'the same key as a PEM file (STORE/keys/manifest-signing.pub)')
    .option('--token-file <file>', 'file holding the admin token (content published without --public)')
    .addOption(new Option('--token <token>', 'the admin token itself (visible in ps: prefer --token-file)').hideHelp())
    .option('--update', 'replace the contents of a non-empty --to once the new version verified')
    .option('--seed-while-needed', 'seed while peers or the tracker say someone still downloads (the default)')
    .option('--seed-for <seconds>', 'seed exactly this long instead', wholeNumber('--seed-for', 0, 86400))
    .option(
      '--seed-quiet <seconds>',
      'while needed: stop after no one needed us this long',
      wholeNumber('--seed-quiet', 1, 3600),
      5,
    )
    .option(
      '--seed-max <seconds>',
      'while needed: never seed longer than this',
      wholeNumber('--seed-max', 0, 86400),
      600,
    )
    .option('--no-seed', 'do not seed at all after the download')
    .option('--exec <cmd>', 'run this with /bin/sh -c in the fetched directory; fetch exits with its status')
    .option('--port <n>', 'TCP port for peers (default: any free port)', wholeNumber('--port', 0, 65535))
    .option('--json', 'JSON lines on stdout: progress about once a second, then a result')
    .option('-q, --quiet', 'no progress bar')
    .addHelpText('after', HELP)
    .action(async (ref: string, f: FetchFlags) => {
      parseRef(ref, 'content')
      const server = (f.server ?? process.env.IMGSWARM_SERVER_URL)?.replace(/\/+$/, '')
      if (!server || !/^https?:\/\/[^/]+/.test(server)) {
        throw errors.usage('fetch needs --server URL (or IMGSWARM_SERVER_URL)', 'e.g. --server http://10.0.0.1:8470')
      }
      if ((f.pubkey === undefined) === (f.pubkeyFile === undefined)) {
        throw errors.usage(
          'fetch needs exactly one of --pubkey or --pubkey-file: the key the content must be signed with',
          "copy the server's STORE/keys/manifest-signing.pub to this machine and pass --pubkey-file",
        )
      }
      const pubkey = loadPubkey((f.pubkey ?? f.pubkeyFile) as string, f.pubkey ? '--pubkey' : '--pubkey-file')
      const line = (v: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(v)}\n`)
      let bar: Progress | undefined
      const ac = new AbortController()
      const stop = () => ac.abort(errors.usage('interrupted'))
      process.once('SIGINT', stop)
      process.once('SIGTERM', stop)
      try {
        const res = await runFetch({
          ref,
          to: f.to,
          server,
          pubkey,
          token: token(f),
          update: f.update,
          seed: policy(f),
          exec: f.exec,
          port: f.port,
          signal: ac.signal,
          say: (m) => {
            if (f.json) return line({ event: 'status', message: m })
            bar?.clearLine()
            if (!f.quiet) process.stderr.write(`${m}\n`)
          },
          warn: (m) =>
            f.json ? line({ event: 'warning', message: m }) : process.stderr.write(`imgswarm: warning: ${m}\n`),
          onProgress: (size, s) => {
            if (f.json) return line({ event: 'progress', ...s, size })
            if (f.quiet) return
            bar ??= new Progress({ label: ref, total: size })
            bar.update(Math.round((s.percent / 100) * size))
            if (s.percent >= 100) bar.finish()
          },
        })
        bar?.finish()
        if (f.json) line({ event: 'result', ...res })
        if (res.exitCode !== null) process.exitCode = res.exitCode
      } finally {
        process.off('SIGINT', stop)
        process.off('SIGTERM', stop)
      }
    })
}
