// `boot`: the installer's boot files. `boot build` makes STORE/boot/kernel and
// STORE/boot/initramfs from Debian packages (docs/boot.md). Other boot
// subcommands (boot pxe) join the group through bootCommands()' list below.
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Command, Option } from 'commander'
import { errors } from '../../common/errors.ts'
import { loadCa } from '../../common/https.ts'
import { formatBytes, Progress } from '../../common/progress.ts'
import { COMPRESSIONS, type Compression } from '../../initramfs/compress.ts'
import { buildBootImage } from '../../initramfs/index.ts'
import { loadOrCreateSigningKey, PUBLIC_KEY_FILE } from '../../seeder/store/keys.ts'
import { CA_CERT_FILE } from '../../seeder/tls/store.ts'
import { type CommonOpts, common, context, printJson, wholeNumber } from '../shared.ts'
import { bootIsoCommand, bootPxeCommand, bootUsbCommand } from './boot-pxe.ts'

interface BuildOpts extends CommonOpts {
  kernelVersion?: string
  compress: Compression
  level?: number
  pubkey?: boolean
  /** A CA file to pin, or false for --no-ca; default STORE/keys/ca.pem when it exists. */
  ca?: string | boolean
}

const KERNEL_VERSION = /^[0-9][0-9a-z.+~-]{0,62}$/

/** One line per finished step, a live count or byte bar while a step runs. */
function progressFor(o: CommonOpts) {
  const enabled = !o.quiet && !o.json
  return (label: string, total: number) => {
    const bytes = label.startsWith('download') || label.startsWith('archive') || label.startsWith('compress')
    if (bytes) return new Progress({ label, total, enabled })
    let last = -1
    const tty = process.stderr.isTTY === true
    return {
      update(done: number) {
        if (!enabled || !tty || done === last) return
        last = done
        process.stderr.write(`\r\x1b[K${label}: ${done}/${total}`)
      },
      finish(summary?: string) {
        if (enabled) process.stderr.write(`${tty ? '\r\x1b[K' : ''}${summary ?? `${label}: ${total}`}\n`)
      },
    }
  }
}

function buildCommand(): Command {
  const cmd = new Command('build')
    .description('build the installer kernel and initramfs (STORE/boot/) from Debian packages')
    .addOption(
      new Option(
        '--kernel-version <v>',
        'Debian kernel to use, as in linux-image-V (default: linux-image-amd64)',
      ).argParser((v: string) => {
        if (!KERNEL_VERSION.test(v))
          throw errors.bootOption(
            '--kernel-version',
            `${JSON.stringify(v)} is not a kernel version such as 6.1.0-57-amd64`,
          )
        return v
      }),
    )
    .addOption(new Option('--compress <how>', 'initramfs compression').choices([...COMPRESSIONS]).default('zstd'))
    .option('--level <n>', 'compression level (default zstd 12, gzip 9, xz 6)', wholeNumber('--level', 1, 19))
    .option(
      '--no-pubkey',
      "do not pin the store's signing key in the image (then the boot entry must give imgswarm.pubkey=)",
    )
    .option(
      '--ca <file>',
      "pin this TLS CA (PEM) in the image (default: serve's own CA, STORE/keys/ca.pem, when serve.tls made one)",
    )
    .option('--no-ca', 'pin no TLS CA (then an https:// server needs imgswarm.ca=)')
    .addHelpText(
      'after',
      `
Writes STORE/boot/kernel, STORE/boot/initramfs and STORE/boot/build.json (versions,
sizes, SHA-256). Packages come from apt (apt-get download, cached in STORE/boot/cache);
nothing is copied from the build machine's own system except the Node 24 binary of the
npm package and the bundled client. The same inputs give the same bytes; set
SOURCE_DATE_EPOCH to fix the archive time stamps yourself.

Examples:
  imgswarm boot build                              zstd, the current Debian kernel
  imgswarm boot build --compress xz --level 9      smallest, slowest to unpack
  imgswarm boot build --kernel-version 6.1.0-57-amd64 --store /srv/imgswarm
Docs: docs/boot.md`,
    )
  common(cmd).action(async (o: BuildOpts) => {
    const { store } = context(o)
    const outDir = join(store.root, 'boot')
    let pubkeyPem: string | undefined
    if (o.pubkey !== false) {
      await loadOrCreateSigningKey(store.keysDir)
      pubkeyPem = await readFile(join(store.keysDir, PUBLIC_KEY_FILE), 'utf8')
    }
    // The TLS CA nodes pin (docs/tls.md): the one given, else serve's own when it made one.
    let caPem: string | undefined
    if (typeof o.ca === 'string') caPem = loadCa(o.ca, '--ca')
    else if (o.ca !== false && existsSync(join(store.keysDir, CA_CERT_FILE))) {
      caPem = loadCa(join(store.keysDir, CA_CERT_FILE), 'STORE/keys/ca.pem')
    }
    const say = (l: string) => {
      if (!o.json && !o.quiet) process.stderr.write(`${l}\n`)
    }
    const started = performance.now()
    const info = await buildBootImage({
      outDir,
      compression: o.compress,
      ...(o.level === undefined ? {} : { level: o.level }),
      ...(o.kernelVersion === undefined ? {} : { kernelVersion: o.kernelVersion }),
      ...(pubkeyPem === undefined ? {} : { pubkeyPem }),
      ...(caPem === undefined ? {} : { caPem }),
      progress: progressFor(o),
      say,
    })
    if (o.json) return printJson({ dir: outDir, ...info })
    const secs = ((performance.now() - started) / 1000).toFixed(1)
    process.stdout.write(
      [
        `kernel     ${join(outDir, 'kernel')}  ${info.kernel.version}  ${formatBytes(info.kernel.size)}`,
        `initramfs  ${join(outDir, 'initramfs')}  ${info.initramfs.compression}  ${formatBytes(info.initramfs.size)} (${formatBytes(info.initramfs.uncompressedSize)} unpacked, ${info.initramfs.entries} entries)`,
        `sha256     ${info.initramfs.sha256}`,
        `pinned key ${info.pubkey ?? 'none (boot entries must give imgswarm.pubkey=)'}`,
        `pinned CA  ${info.caSha256 === null ? 'none (an https:// server then needs imgswarm.ca=)' : `${info.caPath}, sha256 ${info.caSha256}`}`,
        `node ${info.node.version}, ${info.modules.length} kernel modules, ${info.packages.length} Debian packages, ${secs} s`,
        '',
      ].join('\n'),
    )
  })
  return cmd
}

/** The `boot` command group. */
export function bootCommands(): Command {
  const cmd = new Command('boot').description('the installer boot files: kernel, initramfs (and network boot)')
  cmd.addCommand(buildCommand())
  cmd.addCommand(bootPxeCommand())
  cmd.addCommand(bootIsoCommand())
  cmd.addCommand(bootUsbCommand())
  return cmd
}
