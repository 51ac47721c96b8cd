// Error codes of network boot: the boot routes, `boot pxe` and `node reimage --local`.
import { define, HOSTILE, USAGE } from './error-core.ts'

export const pxeErrors = {
  bootFilesMissing: define('IMGSWARM_ERR_BOOT_FILES', 1, (file: string) => ({
    message: `the boot file ${file} is not in the store`,
    hint: 'build the kernel and initramfs first: imgswarm boot build',
  })),
  pxeOption: define('IMGSWARM_ERR_PXE_OPTION', USAGE, (flag: string, detail: string, hint?: string) => ({
    message: `${flag}: ${detail}`,
    hint: hint ?? 'see imgswarm boot pxe --help and docs/pxe.md',
  })),
  pxeFirmware: define('IMGSWARM_ERR_PXE_FIRMWARE', 1, (file: string) => ({
    message: `the iPXE binary ${file} is missing`,
    hint: "install Debian's ipxe package (apt-get install ipxe), or pass --ipxe-dir DIR holding undionly.kpxe, ipxe.efi and snponly.efi",
  })),
  localReimage: define('IMGSWARM_ERR_LOCAL_REIMAGE', 1, (detail: string, hint?: string) =>
    hint === undefined
      ? { message: `cannot reimage this node: ${detail}` }
      : { message: `cannot reimage this node: ${detail}`, hint },
  ),
  bootDownload: define('IMGSWARM_ERR_BOOT_DOWNLOAD', HOSTILE, (file: string, detail: string) => ({
    message: `the installer's ${file} from the server failed its check: ${detail}`,
    hint: 'nothing was changed on this node; fetch it again, and check that the server is the one you meant (see docs/pxe.md)',
  })),
}
