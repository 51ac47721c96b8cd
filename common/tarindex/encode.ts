// The index file (docs/archive-index.md): JSON with one entry per line, so a
// reader can take it apart line by line, and one spelling only, so the same
// archive always gives the same bytes and parseIndex can insist on them.
import { type ArchiveIndex, INDEX_SCHEMA, type IndexEntry } from './types.ts'

export function indexHead(archiveSize: number): string {
  return `{"schema":"${INDEX_SCHEMA}","archiveSize":${archiveSize},"entries":[`
}

export const INDEX_TAIL = ']}'

/**
 * One entry as its line (without the separating comma): keys in a fixed
 * order, xattrs sorted by name. Built as a string by hand (it runs for every
 * entry twice per pack); equal to JSON.stringify of the same object.
 */
export function encodeEntry(e: IndexEntry): string {
  let s = `{"h":${e.headerOffset},"t":"${e.type}","p":"${e.path.toString('base64')}","m":${e.mode},"u":${e.uid},"g":${e.gid},"mt":${e.mtime},"s":${e.size}`
  if (e.type === 'link' || e.type === 'symlink') s += `,"l":"${e.linkpath.toString('base64')}"`
  if (e.type === 'char' || e.type === 'block') s += `,"d":[${e.devmajor},${e.devminor}]`
  if (e.xattrs.size > 0) {
    const names = [...e.xattrs.keys()].sort()
    s += `,"x":{${names.map((n) => `${JSON.stringify(n)}:"${(e.xattrs.get(n) as Buffer).toString('base64')}"`).join(',')}}`
  }
  if (e.extents.length > 0) {
    s += `,"e":[${e.extents.map((x) => `[${x.archiveOffset},${x.length},${x.fileOffset}]`).join(',')}]`
  }
  return `${s}}`
}

const FLUSH = 1 << 20

export function encodeIndex(index: ArchiveIndex): Buffer {
  const parts: Buffer[] = []
  let text = `${indexHead(index.archiveSize)}\n`
  index.entries.forEach((e, i) => {
    text += `${encodeEntry(e)}${i + 1 < index.entries.length ? ',' : ''}\n`
    // Flushed now and then: a long index must not become one huge string.
    if (text.length >= FLUSH) {
      parts.push(Buffer.from(text, 'utf8'))
      text = ''
    }
  })
  parts.push(Buffer.from(`${text}${INDEX_TAIL}\n`, 'utf8'))
  return Buffer.concat(parts)
}
