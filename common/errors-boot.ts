// Error codes of identity, post-install scripts, bootloader and post-actions.
import { define, HOSTILE, USAGE } from './error-core.ts'

export const bootErrors = {
  hostname: define('IMGSWARM_ERR_HOSTNAME', USAGE, (value: string) => ({
    message: `${JSON.stringify(value)} is not a valid host name (RFC 1123: dot-separated labels of a-z 0-9 -, each 1-63 long, not starting or ending with -; 253 at most)`,
    hint: "fix the node's hostname in the plans file, or the imgswarm.hostname= / --hostname value",
  })),
  targetPath: define('IMGSWARM_ERR_TARGET_PATH', HOSTILE, (path: string, detail: string) => ({
    message: `installed tree: ${path}: ${detail}; refusing to touch it`,
    hint: 'the image (or an override) has an odd or hostile file layout there: fix the image and re-pack it',
  })),
  postInstall: define('IMGSWARM_ERR_POST_INSTALL', 1, (script: string, status: string, lastLines: string[]) => ({
    message: `post-install script ${script} failed (${status})${lastLines.length === 0 ? ', no output' : `; its last output:\n${lastLines.join('\n')}`}`,
    hint: 'fix the script in the image (/etc/imgswarm/post-install/), re-pack, and reimage; see docs/post-install.md',
  })),
  bootloaderTool: define('IMGSWARM_ERR_BOOTLOADER_TOOL', 1, (what: string, where: string, packages: string[]) => ({
    message: `cannot install the bootloader: ${what} is missing ${where}`,
    hint:
      where === 'in the image'
        ? `add the Debian packages ${packages.join(', ')} to the image, or remove GRUB from it entirely so the client uses its own`
        : `install it: apt-get install ${packages.join(' ')}`,
  })),
  bootloader: define('IMGSWARM_ERR_BOOTLOADER', 1, (detail: string, hint?: string) =>
    hint === undefined
      ? { message: `cannot install the bootloader: ${detail}` }
      : { message: `cannot install the bootloader: ${detail}`, hint },
  ),
  postAction: define('IMGSWARM_ERR_POST_ACTION', 1, (action: string, detail: string, hint?: string) =>
    hint === undefined
      ? { message: `post-action ${action}: ${detail}` }
      : { message: `post-action ${action}: ${detail}`, hint },
  ),
}
