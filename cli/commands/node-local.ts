// `imgswarm node reimage --local`: reimage the machine this runs on, without
// PXE (client/local-reimage, docs/pxe.md#reimage-a-running-node). A's
// `node reimage` command takes these options (its own --server, --json and
// --config apply too) and hands --local here.
import { type Command, Option } from 'commander'
import { localReimage } from '../../client/local-reimage/index.ts'
import { loadConfig } from '../../common/config.ts'
import { errors } from '../../common/errors.ts'
import { printJson } from '../shared.ts'

export interface LocalReimageOpts {
  local?: boolean
  kexec?: boolean
  nextBoot?: boolean
  reboot?: boolean
  loadOnly?: boolean
  server?: string
  mac?: string
  root?: string
  dir?: string
  config?: string
  store?: string
  json?: boolean
  quiet?: boolean
}

export const LOCAL_HELP = `
Reimage this machine, without PXE (run it on the node, as root):
  imgswarm node reimage --local --server http://10.0.0.1:8470              kexec into the installer now
  imgswarm node reimage --local --next-boot --server http://10.0.0.1:8470  one-time GRUB entry; reboot later
  imgswarm node reimage --local --next-boot --reboot                        ... and reboot now
  imgswarm node reimage --local --load-only                                 kexec -l only; run systemctl kexec yourself
Both download the installer's kernel and initramfs from the server and check their size and
SHA-256 against the server's GET /api/v1/boot/info before changing anything. Docs: docs/pxe.md`

export function addLocalReimageOptions(cmd: Command): Command {
  return cmd
    .option('--local', 'reimage THIS machine (no id): kexec into the installer, or a one-time boot entry')
    .option('--kexec', 'with --local: load the installer with kexec and boot it now (the default)')
    .option(
      '--next-boot',
      'with --local: a one-time GRUB entry for the installer (files in /boot/imgswarm, grub-reboot)',
    )
    .option('--reboot', 'with --next-boot: reboot once the entry is in place')
    .option('--load-only', 'with --kexec: stop after kexec -l')
    .option('--mac <mac>', 'with --local: the boot NIC (default: the interface of the default route)')
    .addOption(new Option('--root <dir>', 'with --next-boot: the installed system to change (default /)').hideHelp())
    .addOption(
      new Option('--dir <dir>', 'with --kexec: where the downloads go (default /run/imgswarm/boot)').hideHelp(),
    )
}

export async function runLocalReimage(ids: string[], o: LocalReimageOpts): Promise<void> {
  if (ids.length > 0) throw errors.usage('--local reimages this machine: give no node ids (or drop --local)')
  if (o.kexec && o.nextBoot) throw errors.usage('--kexec and --next-boot: pick one')
  if (o.reboot && !o.nextBoot)
    throw errors.usage('--reboot goes with --next-boot (--kexec boots the installer at once)')
  if (o.loadOnly && o.nextBoot) throw errors.usage('--load-only goes with --kexec')
  const server = o.server ?? loadConfig({ config: o.config, store: o.store }).serverUrl
  const say = (l: string) => {
    if (!o.quiet && !o.json) process.stderr.write(`${l}\n`)
  }
  const r = await localReimage({
    server,
    mode: o.nextBoot ? 'next-boot' : 'kexec',
    ...(o.mac === undefined ? {} : { mac: o.mac }),
    ...(o.root === undefined ? {} : { root: o.root }),
    ...(o.dir === undefined ? {} : { workDir: o.dir }),
    loadOnly: o.loadOnly === true,
    reboot: o.reboot === true,
    say,
  })
  if (o.json) return printJson(r)
  if (r.mode === 'kexec' && o.loadOnly) say('loaded; boot it with: systemctl kexec (or kexec -e)')
  if (r.mode === 'next-boot' && !o.reboot) say('the installer runs at the next reboot (once); reboot when ready')
}
