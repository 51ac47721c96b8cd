// Every entry of the index is checked before anything is written: paths
// (no escape, no reserved name, no duplicates, nothing under an entry that
// is not a directory), owners, device numbers, xattrs, link targets. A
// refused index leaves the target as it was.
import { keyOf } from '../../../common/archive/safe-fs.ts'
import { errors, isImgswarmError } from '../../../common/errors.ts'
import { quotePath, sanitizeEntryPath } from '../../../common/paths.ts'
import type { IndexTable } from '../../../common/tarindex/table.ts'
import { checkEntry } from './meta.ts'
import { WORK_DIR } from './state.ts'

/** Checks every entry; returns the entry number of the root directory's entry, or -1. */
export function validateEntries(table: IndexTable): number {
  let rootEntry = -1
  const seen = new Set<string>()
  const nonDirs = new Set<string>()
  const linkable = new Set<string>()
  for (let i = 0; i < table.length; i++) {
    const e = table.entry(i)
    const name = quotePath(e.path)
    const c = sanitizeEntryPath(e.path)
    checkEntry(e, name)
    if (c.length === 0) {
      if (e.type !== 'directory') throw errors.pathEscape(name, 'a non-directory entry names the extraction root')
      if (rootEntry >= 0) throw errors.inplaceIndex(name, 'the root is listed twice')
      rootEntry = i
      continue
    }
    if ((c[0] as Buffer).toString('latin1') === WORK_DIR) throw errors.inplaceReserved(name)
    // keyOf(c, j) for each j, built up one component at a time (latin1 maps bytes 1:1).
    let key = ''
    for (let j = 0; j < c.length; j++) {
      if (j > 0 && nonDirs.has(key)) {
        // The extractor would find a file, device or symlink there: never create through it.
        throw errors.pathThroughSymlink(name, quotePath(Buffer.from(key, 'latin1')))
      }
      const part = (c[j] as Buffer).toString('latin1')
      key = j === 0 ? part : `${key}/${part}`
    }
    if (seen.has(key)) throw errors.inplaceIndex(name, 'the path is listed twice')
    seen.add(key)
    if (e.type !== 'directory') nonDirs.add(key)
    if (e.type === 'link') checkLinkTarget(e.linkpath, key, name, linkable)
    if (e.type === 'file' || e.type === 'link') linkable.add(key)
  }
  return rootEntry
}

function checkLinkTarget(linkpath: Buffer, key: string, name: string, linkable: Set<string>): void {
  const target = quotePath(linkpath)
  let tcomps: Buffer[]
  try {
    tcomps = sanitizeEntryPath(linkpath)
  } catch (err) {
    const why = isImgswarmError(err) ? err.message.replace(/^archive entry .*?: /, '') : String(err)
    throw errors.hardlinkEscape(name, target, why)
  }
  if (tcomps.length === 0) throw errors.hardlinkEscape(name, target, 'the target is the extraction root')
  const tkey = keyOf(tcomps)
  if (tkey === key) throw errors.hardlinkEscape(name, target, 'an entry cannot link to itself')
  if (!linkable.has(tkey)) {
    throw errors.hardlinkEscape(name, target, 'the target is not a regular file earlier in the archive')
  }
}
