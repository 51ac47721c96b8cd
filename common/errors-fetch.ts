// Error codes of content distribution: `imgswarm publish` and `imgswarm fetch` (docs/content.md).
import { define, HOSTILE, USAGE } from './error-core.ts'

export const fetchErrors = {
  fetchDirNotEmpty: define('IMGSWARM_ERR_FETCH_DIR_NOT_EMPTY', USAGE, (dir: string, example: string) => ({
    message: `--to ${dir} is not empty (e.g. ${example}); nothing was written`,
    hint: 'fetch into an empty or new directory, or add --update to replace its contents once the new version verified',
  })),
  fetchDir: define('IMGSWARM_ERR_FETCH_DIR', USAGE, (dir: string, detail: string) => ({
    message: `--to ${dir}: ${detail}`,
    hint: 'give a directory path you can write to (its parent must exist)',
  })),
  fetchNotPublished: define('IMGSWARM_ERR_FETCH_NOT_PUBLISHED', 1, (ref: string, server: string, detail: string) => ({
    message: `content ${ref} cannot be fetched from ${server}: ${detail}`,
    hint: 'check the name (imgswarm content is published with: imgswarm publish DIR NAME --public); private content needs --token-file with the admin token',
  })),
  fetchMismatch: define('IMGSWARM_ERR_FETCH_MISMATCH', HOSTILE, (where: string, detail: string) => ({
    message: `${where}: ${detail}; nothing from it was trusted`,
    hint: 'the server (or something between) answered with data that disagrees with the signed manifest: check the server URL and the pinned key',
  })),
  fetchExec: define('IMGSWARM_ERR_FETCH_EXEC', 1, (cmd: string, detail: string) => ({
    message: `--exec ${JSON.stringify(cmd)}: ${detail}`,
    hint: 'the content was fetched and verified; check the command (it runs with /bin/sh -c in the fetched directory)',
  })),
}
