// `imgswarm boot pxe`: a dnsmasq configuration and a TFTP root that make
// PXE firmware load iPXE, and iPXE ask the image server what to do
// (docs/pxe.md). The inputs are checked first; nothing is started.
import { copyFile, mkdir, rename, stat, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { errors } from '../../common/errors.ts'
import { BIOS_LOADER, dnsmasqConfig } from './config.ts'
import { checkPxeInput, type PxeInput, type PxePlan } from './options.ts'

export { BIOS_LOADER, dnsmasqConfig } from './config.ts'
export {
  checkPxeInput,
  EFI_LOADERS,
  interfaceIpv4,
  PXE_MODES,
  type PxeInput,
  type PxeMode,
  type PxePlan,
} from './options.ts'

/** Debian's ipxe package. */
export const IPXE_DIR = '/usr/lib/ipxe'
export const CONFIG_FILE = 'dnsmasq.conf'
export const TFTP_DIR = 'tftp'

export interface PxeWriteInit extends PxeInput {
  out: string
  ipxeDir?: string
  command?: string
}

export interface PxeWritten {
  plan: PxePlan
  config: string
  tftpRoot: string
  files: string[]
}

export async function writePxe(init: PxeWriteInit): Promise<PxeWritten> {
  const plan = checkPxeInput(init)
  const out = resolve(init.out)
  const ipxeDir = init.ipxeDir ?? IPXE_DIR
  const loaders = [BIOS_LOADER, 'ipxe.efi', 'snponly.efi']
  for (const f of loaders) {
    const st = await stat(join(ipxeDir, f)).catch(() => undefined)
    if (!st?.isFile()) throw errors.pxeFirmware(join(ipxeDir, f))
  }
  const tftpRoot = join(out, TFTP_DIR)
  await mkdir(tftpRoot, { recursive: true })
  for (const f of loaders) await copyFile(join(ipxeDir, f), join(tftpRoot, f))
  const config = join(out, CONFIG_FILE)
  const text = dnsmasqConfig({
    plan,
    tftpRoot,
    leaseFile: join(out, 'dnsmasq.leases'),
    command: init.command ?? 'imgswarm boot pxe',
  })
  const tmp = `${config}.${process.pid}.tmp`
  await writeFile(tmp, text, { mode: 0o644 })
  await rename(tmp, config)
  return { plan, config, tftpRoot, files: loaders.map((f) => join(tftpRoot, f)) }
}
