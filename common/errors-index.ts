// Error codes of the archive index, manifests and install plans.
import { define, HOSTILE } from './error-core.ts'

export const indexErrors = {
  indexInvalid: define('IMGSWARM_ERR_INDEX_INVALID', HOSTILE, (where: string, field: string, detail: string) => ({
    message: `archive index: ${where}: ${field}: ${detail}`,
    hint: 'the index does not describe a well-formed archive: do not install from it; re-pack the image (imgswarm image pack)',
  })),
  noIndex: define('IMGSWARM_ERR_NO_INDEX', 1, (ref: string) => ({
    message: `${ref} has no archive index`,
    hint: 'only uncompressed archives (compression "none") get an index; re-pack a new version without zstd to have one',
  })),
}
