// `imgswarm install`: the install client as a command. In the initramfs the
// same code runs with the kernel command line as its configuration.
import { existsSync, readFileSync } from 'node:fs'
import { Command, Option } from 'commander'
import { resolveClientConfig } from '../../client/config/index.ts'
import { runInstall } from '../../client/install/index.ts'
import { errors } from '../../common/errors.ts'
import { POST_ACTIONS } from '../../common/plan.ts'
import { Progress } from '../../common/progress.ts'
import { printJson, wholeNumber } from '../shared.ts'

interface InstallFlags {
  server?: string
  pubkey?: string
  ca?: string
  disk?: string
  targetDir?: string
  hostname?: string
  image?: string
  mac?: string
  ip?: string
  post?: string
  monitor?: string
  clientConfig?: string
  plan?: string
  cmdline: string
  mountDir?: string
  seedTime: number
  port?: number
  removableEfi?: boolean
  dryRunPost?: boolean
  json?: boolean
  quiet?: boolean
  debug?: boolean
}

const EXAMPLES = `
Examples:
  imgswarm install --server http://10.0.0.1:8470 --pubkey server.pub --disk /dev/sda
  imgswarm install --server http://10.0.0.1:8470 --pubkey server.pub --target-dir /mnt/new --post none
  imgswarm install --cmdline /proc/cmdline          everything from imgswarm.* kernel parameters
  imgswarm install --server https://10.0.0.1:8470 --ca ca.pem --pubkey server.pub --target-dir /mnt/new

Settings: flags, then the kernel command line (imgswarm.server=, imgswarm.disk=, ...),
then the client config file, then defaults (docs/client.md, docs/kernel-parameters.md).
The client refuses to touch a disk until the plan, manifests and torrents verified
against the pinned key (--pubkey: the server's STORE/keys/manifest-signing.pub).
--disk repartitions and formats the whole disk. Exit status: 0 installed and verified,
2 bad usage, 3 hostile or corrupt data from the network, 1 anything else.`

function readPlan(file: string): string {
  try {
    return readFileSync(file, 'utf8')
  } catch (e) {
    throw errors.usage(`--plan ${file}: ${(e as Error).message}`, 'give the path of a plan JSON file')
  }
}

export function installCommand(): Command {
  return new Command('install')
    .description('install this node from an imgswarm server: partition, download from the swarm, verify, boot setup')
    .option('--server <url>', 'image server, e.g. http://10.0.0.1:8470')
    .option('--pubkey <file|base64>', "the server's manifest-signing public key (PEM file or raw base64)")
    .option('--ca <file>', "with an https:// server, the only CA trusted (PEM; the server's STORE/keys/ca.pem)")
    .option('--disk <dev>', 'install to this whole disk (repartitioned and formatted per the plan layout)')
    .option('--target-dir <dir>', 'install into this empty directory instead (no partitioning, no bootloader)')
    .option('--hostname <name>', "this node's host name (default: the plan's)")
    .option('--image <name[@ver]>', 'pin: refuse a plan that names another image')
    .option('--mac <mac>', 'MAC address to identify this node to the server')
    .option('--ip <spec>', 'static address as in imgswarm.ip= (ADDR/PREFIX,GATEWAY[,DNS…]) or dhcp')
    .addOption(new Option('--post <action>', "post-action (default: the plan's)").choices([...POST_ACTIONS]))
    .option('--monitor <url>', 'where progress events go (default: the server)')
    .option('--plan <file>', 'use this install plan (JSON, as GET /api/v1/plan answers) instead of asking the server')
    .option('--client-config <file>', 'client config file (TOML, docs/client.md)')
    .option('--cmdline <file|none>', 'kernel command line to read imgswarm.* from', '/proc/cmdline')
    .option('--mount-dir <dir>', 'where --disk file systems are mounted', '/run/imgswarm/target')
    .option(
      '--seed-time <seconds>',
      'seed to other nodes after the install for at most this long',
      wholeNumber('--seed-time', 0, 86400),
      600,
    )
    .option('--port <n>', 'TCP port for peers (default: any free port)', wholeNumber('--port', 0, 65535))
    .option('--removable-efi', 'install GRUB for UEFI to the removable-media path (EFI/BOOT/BOOTX64.EFI)')
    .option('--dry-run-post', 'print the post-action instead of running it')
    .option('--json', 'print a JSON summary at the end')
    .option('-q, --quiet', 'no progress bar')
    .option('--debug', 'more output')
    .addHelpText('after', EXAMPLES)
    .action(async (f: InstallFlags) => {
      const cmdline = f.cmdline === 'none' || !existsSync(f.cmdline) ? undefined : readFileSync(f.cmdline, 'utf8')
      const cfg = resolveClientConfig({
        flags: {
          server: f.server,
          pubkey: f.pubkey,
          ca: f.ca,
          disk: f.disk,
          targetDir: f.targetDir,
          hostname: f.hostname,
          image: f.image,
          mac: f.mac,
          ip: f.ip,
          post: f.post as (typeof POST_ACTIONS)[number] | undefined,
          monitor: f.monitor,
          debug: f.debug,
        },
        cmdline,
        file: f.clientConfig,
      })
      for (const w of cfg.warnings) process.stderr.write(`imgswarm: warning: ${w}\n`)
      const bars = new Map<string, Progress>()
      const ac = new AbortController()
      const stop = () => ac.abort(errors.usage('interrupted'))
      process.once('SIGINT', stop)
      process.once('SIGTERM', stop)
      try {
        const result = await runInstall({
          cfg,
          planText: f.plan === undefined ? undefined : readPlan(f.plan),
          signal: ac.signal,
          out: (l) => {
            for (const b of bars.values()) b.clearLine()
            process.stderr.write(`${l}\n`)
          },
          onSwarm: (what, size, s) => {
            if (f.quiet || f.json) return
            let bar = bars.get(what)
            if (!bar) {
              bar = new Progress({ label: what, total: size })
              bars.set(what, bar)
            }
            bar.update(Math.round((s.percent / 100) * size))
            // Verification and seeding follow the download: end the bar so it is not redrawn under their lines.
            if (s.percent >= 100) bar.finish()
          },
          mountDir: f.mountDir,
          seedMaxMs: f.seedTime * 1000,
          port: f.port,
          removableEfi: f.removableEfi,
          postDryRun: f.dryRunPost,
        })
        for (const b of bars.values()) b.finish()
        if (f.json) printJson(result)
      } finally {
        process.off('SIGINT', stop)
        process.off('SIGTERM', stop)
      }
    })
}
