// The rules that tie index entries together: archive order, extents inside
// their own entry, one entry per path, parents that are directories, hard
// links only to earlier regular files. Fed one entry at a time, in order.
import { isImgswarmError } from '../errors.ts'
import { sanitizeEntryPath } from '../paths.ts'
import type { Fail } from './entry.ts'
import type { IndexEntry } from './types.ts'

/** A path's components joined by "/", as a byte-exact (latin1) string: `./a/` and `a` give the same key. */
function pathKey(raw: Buffer, field: string, fail: Fail): string[] {
  let parts: Buffer[]
  try {
    parts = sanitizeEntryPath(raw)
  } catch (e) {
    if (isImgswarmError(e)) fail(field, e.message)
    throw e
  }
  return parts.map((p) => p.toString('latin1'))
}

export class IndexRules {
  readonly #archiveSize: number
  /** Path key -> the type of the entry that has it. */
  readonly #types = new Map<string, IndexEntry['type']>()
  /** Every path some entry has as a parent: a later entry there must be a directory. */
  readonly #parents = new Set<string>()
  #last: IndexEntry | undefined

  constructor(archiveSize: number) {
    this.#archiveSize = archiveSize
  }

  add(e: IndexEntry, fail: Fail): void {
    const prev = this.#last
    if (prev !== undefined) {
      if (e.headerOffset <= prev.headerOffset) fail('h', `must be above the entry before it (${prev.headerOffset})`)
      const end = this.#dataEnd(prev)
      if (end > e.headerOffset) fail('h', `lies inside the data of the entry before it (which ends at ${end})`)
    }
    const parts = pathKey(e.path, 'p', fail)
    if (parts.length === 0 && e.type !== 'directory')
      fail('p', `names the root, which must be a directory, not a ${e.type}`)
    if (e.type !== 'directory' && e.path[e.path.length - 1] === 0x2f) fail('p', `ends with "/" but is a ${e.type}`)
    const key = parts.join('/')
    if (this.#types.has(key)) fail('p', 'the same path as an earlier entry')
    if (e.type !== 'directory' && this.#parents.has(key)) {
      fail('p', `is a ${e.type}, but an earlier entry lies inside it`)
    }
    let parent = ''
    for (let i = 0; i + 1 < parts.length; i++) {
      parent = i === 0 ? (parts[0] as string) : `${parent}/${parts[i]}`
      const t = this.#types.get(parent)
      if (t !== undefined && t !== 'directory') fail('p', `its parent is a ${t}, not a directory`)
      this.#parents.add(parent)
    }
    if (e.type === 'link') {
      const target = pathKey(e.linkpath, 'l', fail).join('/')
      const t = this.#types.get(target)
      if (t === undefined) fail('l', 'hard link to no earlier entry')
      if (t !== 'file') fail('l', `hard link to a ${t}; only regular files may be linked`)
    }
    this.#types.set(key, e.type)
    this.#last = e
  }

  #dataEnd(e: IndexEntry): number {
    const x = e.extents[e.extents.length - 1]
    return x === undefined ? e.headerOffset + 512 : x.archiveOffset + x.length
  }

  /** After the last entry: its data must end inside the archive (decodeEntry checked each extent). */
  finish(fail: Fail): void {
    if (this.#last !== undefined && this.#dataEnd(this.#last) > this.#archiveSize) {
      fail('e', 'data runs past the end of the archive')
    }
  }
}
