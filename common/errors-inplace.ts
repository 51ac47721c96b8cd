// Error codes of in-place extraction (client/swarm/inplace).
import { define, HOSTILE, USAGE } from './error-core.ts'

const HOSTILE_HINT = 'the image index is hostile or corrupt: do not install from it'

export const inplaceErrors = {
  inplaceNotEmpty: define('IMGSWARM_ERR_INPLACE_NOT_EMPTY', USAGE, (target: string, found: string) => ({
    message: `install target ${target} is not empty (it holds ${found}); an image is never mixed into an existing tree`,
    hint: 'install into an empty directory or a freshly made file system (lost+found is allowed)',
  })),
  inplaceOtherInstall: define('IMGSWARM_ERR_INPLACE_OTHER_INSTALL', 1, (target: string, detail: string) => ({
    message: `install target ${target} holds an unfinished install that cannot be resumed: ${detail}`,
    hint: 'start over from an empty target (re-run the disk step, or empty the directory)',
  })),
  inplaceIndex: define('IMGSWARM_ERR_INPLACE_INDEX', HOSTILE, (where: string, detail: string) => ({
    message: `archive index: ${where}: ${detail}`,
    hint: HOSTILE_HINT,
  })),
  inplaceReserved: define('IMGSWARM_ERR_INPLACE_RESERVED', HOSTILE, (entry: string) => ({
    message: `archive entry ${entry} uses the name reserved for the install's work folder (.imgswarm-install)`,
    hint: 'rename that path in the image and pack it again',
  })),
  inplacePieceRange: define('IMGSWARM_ERR_INPLACE_PIECE_RANGE', HOSTILE, (piece: number, detail: string) => ({
    message: `piece ${piece}: ${detail}`,
    hint: 'the torrent does not belong to this image index, or a peer library misbehaves',
  })),
  inplaceNotWritten: define('IMGSWARM_ERR_INPLACE_NOT_WRITTEN', 1, (piece: number) => ({
    message: `piece ${piece} has not been written yet`,
  })),
  inplaceChanged: define('IMGSWARM_ERR_INPLACE_CHANGED', 1, (piece: number, entry: string, what: string) => ({
    message: `piece ${piece} is not served: installed file ${entry} ${what} since the install`,
    hint: 'files changed after the install (overrides, identity, scripts) are never served to other nodes',
  })),
  inplaceTreeChanged: define('IMGSWARM_ERR_INPLACE_TREE_CHANGED', HOSTILE, (entry: string, detail: string) => ({
    message: `installed file ${entry} ${detail} while the install was running`,
    hint: 'something else writes into the install target: stop it and start the install over',
  })),
  inplaceIncomplete: define('IMGSWARM_ERR_INPLACE_INCOMPLETE', 1, (missing: number, step: string) => ({
    message: `cannot ${step}: ${missing} piece${missing === 1 ? '' : 's'} still missing`,
  })),
  inplaceClosed: define('IMGSWARM_ERR_INPLACE_CLOSED', 1, (what: string) => ({
    message: `the in-place store is ${what}`,
  })),
  inplaceArchiveMismatch: define(
    'IMGSWARM_ERR_INPLACE_ARCHIVE_MISMATCH',
    HOSTILE,
    (offset: number, entry: string, detail: string) => ({
      message: `archive and index disagree at byte ${offset} (${entry}): ${detail}`,
      hint: 'the index does not describe this archive: do not trust the install; re-pack the image',
    }),
  ),
}
