// Error codes of `imgswarm boot build`: packages, libraries, modules and the archive.
import { define, USAGE } from './error-core.ts'

export const initramfsErrors = {
  bootBuild: define('IMGSWARM_ERR_BOOT_BUILD', 1, (detail: string, hint?: string) => ({
    message: `boot build: ${detail}`,
    hint: hint ?? 'see docs/boot.md; run again with IMGSWARM_DEBUG=1 for the full trace',
  })),
  bootPackage: define('IMGSWARM_ERR_BOOT_PACKAGE', 1, (pkg: string, detail: string) => ({
    message: `boot build: Debian package ${pkg}: ${detail}`,
    hint: 'check the apt sources (apt-get update) and that the package exists for amd64: apt-cache policy PACKAGE',
  })),
  bootLibrary: define('IMGSWARM_ERR_BOOT_LIBRARY', 1, (binary: string, soname: string) => ({
    message: `boot build: ${binary} needs ${soname}, which none of the downloaded packages holds`,
    hint: 'add the Debian package that ships it to the library list in initramfs/contents.ts (apt-file search SONAME)',
  })),
  bootModule: define('IMGSWARM_ERR_BOOT_MODULE', 1, (module: string, kernel: string) => ({
    message: `boot build: kernel module ${module} is neither in modules.dep nor built into ${kernel}`,
    hint: 'check the module name (modinfo NAME on a machine with that kernel), or remove it from the module list',
  })),
  bootOption: define('IMGSWARM_ERR_BOOT_OPTION', USAGE, (flag: string, detail: string) => ({
    message: `${flag}: ${detail}`,
    hint: 'see imgswarm boot build --help and docs/boot.md',
  })),
}
