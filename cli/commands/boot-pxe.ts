// `imgswarm boot pxe`: writes the dnsmasq configuration and TFTP root for
// network boot (docs/pxe.md). D's `boot` command adds it as a subcommand.
import { join } from 'node:path'
import { Command } from 'commander'
import { errors } from '../../common/errors.ts'
import { writePxe } from '../../initramfs/pxe/index.ts'
import { writeBootMedia } from '../../initramfs/pxe/media.ts'
import { safeArgs } from '../../seeder/boot/index.ts'
import { type CommonOpts, common, context, info, printJson, wholeNumber } from '../shared.ts'

interface PxeOpts extends CommonOpts {
  mode: string
  interface: string
  server?: string
  range?: string
  out?: string
  efi: string
  ipxeDir?: string
}

const EXAMPLES = `
Examples:
  # beside the site's DHCP server (it keeps giving out addresses):
  imgswarm boot pxe --mode proxy --interface eno1 --server http://10.0.0.1:8470
  # an isolated provisioning network where dnsmasq is the DHCP server:
  imgswarm boot pxe --mode full --interface eno2 --server http://10.9.0.1:8470 --range 10.9.0.100,10.9.0.250,12h
  # then run dnsmasq with it (and imgswarm serve):
  dnsmasq --keep-in-foreground --conf-file=/var/lib/imgswarm/pxe/dnsmasq.conf

Writes OUT/dnsmasq.conf and OUT/tftp/ (undionly.kpxe for BIOS, ipxe.efi and
snponly.efi for UEFI, from Debian's ipxe package). PXE firmware loads iPXE
over TFTP; iPXE fetches GET /api/v1/boot/ipxe from the server, which answers
per MAC: boot from the local disk, or reimage (imgswarm node reimage).
Kernel and initramfs travel over HTTP. Docs: docs/pxe.md`

export function bootPxeCommand(): Command {
  return common(new Command('pxe'))
    .description('write a dnsmasq config (proxy-DHCP or full DHCP) and a TFTP root with iPXE for network boot')
    .requiredOption('--mode <mode>', 'proxy (beside an existing DHCP server) or full (dnsmasq hands out addresses)')
    .requiredOption('--interface <if>', 'the provisioning network interface; it must have an IPv4 address')
    .option('--server <url>', 'URL nodes reach imgswarm serve at (default: serve.public_url from the config)')
    .option('--range <spec>', "full: START,END[,LEASE] pool; proxy: the subnet address (default: the interface's)")
    .option('--out <dir>', 'where to write dnsmasq.conf and tftp/ (default: STORE/pxe)')
    .option(
      '--efi <file>',
      "iPXE for UEFI: snponly.efi (the firmware's NIC driver) or ipxe.efi (its own drivers)",
      'snponly.efi',
    )
    .option('--ipxe-dir <dir>', 'where the iPXE binaries are (default /usr/lib/ipxe, Debian package ipxe)')
    .addHelpText('after', EXAMPLES)
    .action(async (o: PxeOpts) => {
      const { config, store } = context(o)
      const server = o.server ?? config.serve.publicUrl
      const args = [`--mode ${o.mode}`, `--interface ${o.interface}`, `--server ${server}`]
      if (o.range) args.push(`--range ${o.range}`)
      const r = await writePxe({
        mode: o.mode,
        interface: o.interface,
        server,
        ...(o.range === undefined ? {} : { range: o.range }),
        efi: o.efi,
        out: o.out ?? join(store.root, 'pxe'),
        ...(o.ipxeDir === undefined ? {} : { ipxeDir: o.ipxeDir }),
        command: `imgswarm boot pxe ${args.join(' ')}`,
      })
      if (o.json) return printJson({ config: r.config, tftpRoot: r.tftpRoot, files: r.files, plan: r.plan })
      process.stdout.write(`${r.config}\n`)
      info(
        o,
        `wrote ${r.config} (${r.plan.mode} mode on ${r.plan.interface}, ${r.plan.net.address}) and ${r.tftpRoot}/\nstart it with: dnsmasq --keep-in-foreground --conf-file=${r.config}`,
      )
    })
}

interface MediaOpts extends CommonOpts {
  server?: string
  out?: string
  append?: string
  timeout: number
}

/** `boot iso` and `boot usb`: the same hybrid image (BIOS and UEFI; CD or USB stick), under two names. */
function mediaCommand(name: 'iso' | 'usb'): Command {
  const file = name === 'iso' ? 'imgswarm.iso' : 'imgswarm-usb.img'
  return common(new Command(name))
    .description(
      name === 'iso'
        ? 'write a bootable ISO (BIOS and UEFI) that starts the installer, for machines without PXE'
        : 'write a USB stick image (BIOS and UEFI) that starts the installer: dd it to the stick',
    )
    .option('--server <url>', 'the image server the installer talks to (default: serve.public_url)')
    .option('--out <file>', `the image to write (default: STORE/boot/${file})`)
    .option(
      '--append <params>',
      'extra kernel parameters, after serve.boot_cmdline, e.g. "imgswarm.post=poweroff imgswarm.disk=/dev/sda"',
    )
    .option(
      '--timeout <sec>',
      'seconds the menu waits before it starts the installer',
      wholeNumber('--timeout', 0, 3600),
      10,
    )
    .addHelpText(
      'after',
      `
Examples:
  imgswarm boot ${name} --server http://10.0.0.1:8470
  imgswarm boot ${name} --server http://10.0.0.1:8470 --append "imgswarm.post=poweroff" --out /tmp/${file}
${
  name === 'usb'
    ? `  dd if=STORE/boot/${file} of=/dev/sdX bs=4M conv=fsync     (the whole stick, not a partition)
`
    : ''
}
Needs imgswarm boot build first, and grub-mkrescue (grub-common, grub-pc-bin,
grub-efi-amd64-bin, xorriso, mtools). The medium starts the installer after
--timeout seconds: take it out once the install has started, or the machine
reimages itself at every boot. Docs: docs/pxe.md#boot-media`,
    )
    .action(async (o: MediaOpts) => {
      const { config, store } = context(o)
      const bootDir = join(store.root, 'boot')
      // The same extra parameters as the network boot's (serve.boot_cmdline), then --append.
      const fromConfig = config.serve.bootCmdline.trim()
      if (!safeArgs(fromConfig))
        throw errors.pxeOption(
          'serve.boot_cmdline',
          'printable kernel parameters only, without quotes, $ or backslashes',
        )
      const extra = [fromConfig, o.append?.trim() ?? ''].filter((s) => s !== '').join(' ')
      const r = await writeBootMedia({
        bootDir,
        keysDir: store.keysDir,
        server: o.server ?? config.serve.publicUrl,
        out: o.out ?? join(bootDir, file),
        ...(extra === '' ? {} : { extra }),
        timeoutSec: o.timeout,
      })
      if (o.json) return printJson(r)
      process.stdout.write(`${r.file}\n`)
      info(o, `wrote ${r.file} (${r.size} bytes); the installer starts with: ${r.cmdline}`)
    })
}

export const bootIsoCommand = (): Command => mediaCommand('iso')
export const bootUsbCommand = (): Command => mediaCommand('usb')
