// The iPXE scripts the server hands out. Three kinds:
// - the entry script (no MAC yet): asks again with the booting NIC's MAC;
// - "local": leave iPXE with `exit`, so the firmware boots the next device
//   in its boot order (the local disk); see docs/pxe.md for why not sanboot;
// - "reimage": kernel and initramfs over HTTP with the installer's command line.
// Every value written into a script is checked first: iPXE expands ${...}
// and splits on whitespace, so a stray character would change the script.

export const SCRIPT_ROUTE = '/api/v1/boot/ipxe'
export const KERNEL_ROUTE = '/api/v1/boot/kernel'
export const INITRAMFS_ROUTE = '/api/v1/boot/initramfs'

/** URL characters that mean nothing to iPXE's script parser (no $, quotes, spaces, #, backslash). */
const SAFE_URL = /^https?:\/\/[A-Za-z0-9._~:/@!&'()*+,;=%[\]-]+$/
/** Kernel parameters: printable ASCII without quotes, $ or backslash, one space between them. */
const SAFE_ARGS = /^[!#%&(-[\]-~]+( [!#%&(-[\]-~]+)*$/

export function safeUrl(url: string): boolean {
  return SAFE_URL.test(url) && url.length <= 512
}

export function safeArgs(args: string): boolean {
  return args === '' || (SAFE_ARGS.test(args) && args.length <= 2048)
}

function check(what: string, ok: boolean, value: string): void {
  // Callers validate first; this is the last guard before text reaches iPXE.
  if (!ok) throw new Error(`refusing to write ${what} ${JSON.stringify(value)} into an iPXE script`)
}

/** Chains to the per-MAC script. `${netX/mac}` is the MAC of the NIC iPXE booted from. */
export function entryScript(publicUrl: string): string {
  check('the server URL', safeUrl(publicUrl), publicUrl)
  return [
    '#!ipxe',
    '# imgswarm: ask the server what this node should do (local disk or reimage)',
    `chain --autofree ${publicUrl}${SCRIPT_ROUTE}?mac=\${netX/mac} || goto failed`,
    'exit',
    ':failed',
    'echo imgswarm: the image server did not answer; booting from the local disk',
    'sleep 3',
    'exit',
    '',
  ].join('\n')
}

export function localScript(mac: string): string {
  return [
    '#!ipxe',
    `# imgswarm: ${mac} boots from its local disk (no reimage requested)`,
    `echo imgswarm: ${mac}: no reimage requested, booting from the local disk`,
    // Back to the firmware, which tries the next boot device. Works on BIOS and UEFI.
    'exit',
    '',
  ].join('\n')
}

export interface ReimageScript {
  publicUrl: string
  mac: string
  /** The whole kernel command line after `initrd=initramfs`. */
  cmdline: string
}

export function reimageScript(s: ReimageScript): string {
  check('the server URL', safeUrl(s.publicUrl), s.publicUrl)
  check('the kernel command line', safeArgs(s.cmdline), s.cmdline)
  return [
    '#!ipxe',
    `# imgswarm: ${s.mac} is to be reimaged`,
    `echo imgswarm: ${s.mac}: reimage requested, loading the installer from ${s.publicUrl}`,
    ':fetch',
    // initrd=initramfs: UEFI kernels find the initrd by this name (harmless on BIOS).
    `kernel --name kernel ${s.publicUrl}${KERNEL_ROUTE} initrd=initramfs ${s.cmdline} || goto retry`,
    `initrd --name initramfs ${s.publicUrl}${INITRAMFS_ROUTE} || goto retry`,
    'boot || goto retry',
    ':retry',
    'echo imgswarm: could not load the installer; retrying in 10 s',
    'imgfree',
    'sleep 10',
    'goto fetch',
    '',
  ].join('\n')
}
