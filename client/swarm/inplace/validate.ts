// Every entry of the index is checked before anything is written: paths
// (no escape, no reserved name, no duplicates, nothing under an entry that
// is not a directory), owners, device numbers, xattrs, link targets. A
// refused index leaves the target as it was.
import { keyOf } from '../../../common/archive/safe-fs.ts'
import { errors, isImgswarmError } from '../../../common/errors.ts'
import { quotePath, sanitizeEntryPath } from '../../../common/paths.ts'
import type { ArchiveIndex, IndexEntry } from '../../../common/tarindex/types.ts'
import { checkEntry } from './meta.ts'
import { WORK_DIR } from './state.ts'

export function validateEntries(index: ArchiveIndex): { comps: Buffer[][]; rootEntry: IndexEntry | undefined } {
  const comps: Buffer[][] = []
  let rootEntry: IndexEntry | undefined
  const seen = new Set<string>()
  const nonDirs = new Set<string>()
  const linkable = new Set<string>()
  for (const e of index.entries) {
    const name = quotePath(e.path)
    const c = sanitizeEntryPath(e.path)
    comps.push(c)
    checkEntry(e, name)
    if (c.length === 0) {
      if (e.type !== 'directory') throw errors.pathEscape(name, 'a non-directory entry names the extraction root')
      if (rootEntry) throw errors.inplaceIndex(name, 'the root is listed twice')
      rootEntry = e
      continue
    }
    if ((c[0] as Buffer).toString('latin1') === WORK_DIR) throw errors.inplaceReserved(name)
    const key = keyOf(c)
    if (seen.has(key)) throw errors.inplaceIndex(name, 'the path is listed twice')
    for (let j = 1; j < c.length; j++) {
      // The extractor would find a file, device or symlink there: never create through it.
      const prefix = keyOf(c, j)
      if (nonDirs.has(prefix)) throw errors.pathThroughSymlink(name, quotePath(Buffer.from(prefix, 'latin1')))
    }
    seen.add(key)
    if (e.type !== 'directory') nonDirs.add(key)
    if (e.type === 'link') checkLinkTarget(e, c, name, linkable)
    if (e.type === 'file' || e.type === 'link') linkable.add(key)
  }
  return { comps, rootEntry }
}

function checkLinkTarget(e: IndexEntry, comps: Buffer[], name: string, linkable: Set<string>): void {
  const target = quotePath(e.linkpath)
  let tcomps: Buffer[]
  try {
    tcomps = sanitizeEntryPath(e.linkpath)
  } catch (err) {
    const why = isImgswarmError(err) ? err.message.replace(/^archive entry .*?: /, '') : String(err)
    throw errors.hardlinkEscape(name, target, why)
  }
  if (tcomps.length === 0) throw errors.hardlinkEscape(name, target, 'the target is the extraction root')
  if (keyOf(tcomps) === keyOf(comps)) throw errors.hardlinkEscape(name, target, 'an entry cannot link to itself')
  if (!linkable.has(keyOf(tcomps))) {
    throw errors.hardlinkEscape(name, target, 'the target is not a regular file earlier in the archive')
  }
}
