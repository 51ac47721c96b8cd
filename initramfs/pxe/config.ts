// The dnsmasq configuration `boot pxe` writes. Every line carries a comment
// saying why it is there (docs/pxe.md explains the file line by line).
import { SCRIPT_ROUTE } from '../../seeder/boot/script.ts'
import type { PxePlan } from './options.ts'

/** The BIOS loader: iPXE over the NIC's own PXE stack (UNDI), which works on nearly every BIOS NIC. */
export const BIOS_LOADER = 'undionly.kpxe'

export interface DnsmasqConfig {
  plan: PxePlan
  tftpRoot: string
  /** Where dnsmasq writes its leases (full mode). */
  leaseFile: string
  /** For the header line. */
  command: string
}

export function dnsmasqConfig(c: DnsmasqConfig): string {
  const { plan } = c
  const script = `${plan.server}${SCRIPT_ROUTE}`
  const L: string[] = [
    `# dnsmasq configuration for imgswarm network boot, ${plan.mode === 'proxy' ? 'proxy-DHCP' : 'full DHCP'} mode.`,
    `# Written by: ${c.command}`,
    '# Run it with: dnsmasq --keep-in-foreground --conf-file=THIS_FILE   (docs/pxe.md explains every line)',
    '',
    '# No DNS server: this dnsmasq only does DHCP and TFTP.',
    'port=0',
    `# Answer only on the provisioning interface ${plan.interface} (${plan.net.address}/${plan.net.prefix}), and bind to it alone,`,
    '# so that another dnsmasq on this machine (libvirt, NetworkManager) keeps its own interfaces.',
    `interface=${plan.interface}`,
    'bind-interfaces',
    '# Every DHCP exchange in the log: what a node asked for and what it got (docs/troubleshooting.md).',
    'log-dhcp',
    '',
  ]
  if ('start' in plan.range) {
    L.push(
      `# Full DHCP: dnsmasq hands out addresses ${plan.range.start} to ${plan.range.end}, leases of ${plan.range.lease}.`,
      `dhcp-range=${plan.range.start},${plan.range.end},${plan.range.lease}`,
      '# The only DHCP server on this network: answer at once, also to nodes whose lease came from an earlier run.',
      'dhcp-authoritative',
      `dhcp-leasefile=${c.leaseFile}`,
      '',
    )
  } else {
    L.push(
      `# Proxy-DHCP: the site's DHCP server keeps handing out addresses on ${plan.range.network}/${plan.net.prefix};`,
      '# dnsmasq adds only the boot information, in separate offers (and on port 4011).',
      `dhcp-range=${plan.range.network},proxy,${plan.range.netmask}`,
      '',
    )
  }
  L.push(
    '# TFTP carries only the small iPXE loader (under 1 MB); kernel and initramfs come over HTTP.',
    'enable-tftp',
    `tftp-root=${c.tftpRoot}`,
    '',
    '# Nodes already running iPXE say so: user class "iPXE" (option 77) and iPXE\'s own option 175.',
    'dhcp-userclass=set:ipxe,iPXE',
    'dhcp-match=set:ipxe,175',
    '# UEFI x86-64 firmware announces client architecture 7 or 9 (option 93, RFC 4578); BIOS announces 0.',
    'dhcp-match=set:efi64,option:client-arch,7',
    'dhcp-match=set:efi64,option:client-arch,9',
    '',
  )
  if ('start' in plan.range) {
    L.push(
      "# iPXE gets the URL of the server's entry script; it asks again with its MAC for local disk or reimage.",
      `dhcp-boot=tag:ipxe,${script}`,
      `# UEFI firmware's PXE gets iPXE for UEFI over TFTP (${plan.efi}).`,
      `dhcp-boot=tag:!ipxe,tag:efi64,${plan.efi}`,
      '# BIOS PXE gets iPXE for BIOS over TFTP.',
      `dhcp-boot=tag:!ipxe,tag:!efi64,${BIOS_LOADER}`,
    )
  } else {
    L.push(
      '# In proxy mode the boot file goes out as a PXE menu of one entry per architecture, which boots at once.',
      `# iPXE gets the URL of the server's entry script; it asks again with its MAC for local disk or reimage.`,
      `pxe-service=tag:ipxe,x86PC,"imgswarm",${script}`,
      `pxe-service=tag:ipxe,BC_EFI,"imgswarm",${script}`,
      `pxe-service=tag:ipxe,x86-64_EFI,"imgswarm",${script}`,
      '# Firmware PXE gets iPXE over TFTP: BIOS the UNDI loader, UEFI the EFI one.',
      `pxe-service=tag:!ipxe,x86PC,"imgswarm: iPXE (BIOS)",${BIOS_LOADER}`,
      `pxe-service=tag:!ipxe,BC_EFI,"imgswarm: iPXE (UEFI)",${plan.efi}`,
      `pxe-service=tag:!ipxe,x86-64_EFI,"imgswarm: iPXE (UEFI)",${plan.efi}`,
      '# iPXE asks the proxy for its boot file too: answer it in the first offer, not after a menu.',
      `dhcp-boot=tag:ipxe,${script}`,
    )
  }
  L.push('')
  return L.join('\n')
}
