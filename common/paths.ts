// Archive entry paths are hostile input. They are checked, never repaired:
// stripping `../` or a leading `/` (as some tars do) would silently put a file
// somewhere other than where its author meant, so anything odd is refused.
import { NAME_MAX, PATH_MAX } from './constants.ts'
import { errors } from './errors.ts'

const SLASH = 0x2f
const DOT = 0x2e

/** Longest shown form of a path in messages; hostile paths can be a megabyte long. */
const SHOW_MAX = 200

/** Length of the UTF-8 sequence starting at `i` if it is valid there, else 0. */
function utf8At(b: Buffer, i: number): number {
  const lead = b[i] ?? 0
  const n =
    lead < 0x80
      ? 1
      : lead >= 0xc2 && lead < 0xe0
        ? 2
        : lead >= 0xe0 && lead < 0xf0
          ? 3
          : lead >= 0xf0 && lead < 0xf5
            ? 4
            : 0
  if (n <= 1 || i + n > b.length) return i + n > b.length ? 0 : n
  const seq = b.subarray(i, i + n)
  // Re-encoding catches overlong forms, surrogates and bad continuation bytes.
  return Buffer.from(seq.toString('utf8'), 'utf8').equals(seq) ? n : 0
}

/**
 * A path for display (listings, messages): valid UTF-8 as is, control
 * characters, backslashes and bytes that are not UTF-8 escaped (\xNN, \\),
 * so that two different byte names never look alike and a name cannot
 * drive the terminal. Cut short if very long.
 */
export function showPath(b: Buffer): string {
  const cut = b.length > SHOW_MAX ? b.subarray(0, SHOW_MAX) : b
  let s = ''
  for (let i = 0; i < cut.length; ) {
    const n = utf8At(cut, i)
    const byte = cut[i] ?? 0
    if (n === 1 && byte >= 0x20 && byte !== 0x7f && byte !== 0x5c) s += String.fromCharCode(byte)
    else if (n === 1 && byte === 0x5c) s += '\\\\'
    else if (n > 1 && !(n === 2 && byte === 0xc2 && (cut[i + 1] ?? 0) < 0xa0)) s += cut.toString('utf8', i, i + n)
    else {
      // Not UTF-8, or a C0/C1 control character (C1 includes the 8-bit CSI).
      for (let j = i; j < i + Math.max(n, 1); j++) s += `\\x${(cut[j] ?? 0).toString(16).padStart(2, '0')}`
    }
    i += Math.max(n, 1)
  }
  return b.length > SHOW_MAX ? `${s}... (${b.length} bytes)` : s
}

/** showPath in double quotes, for naming an entry inside a sentence. */
export function quotePath(b: Buffer): string {
  return `"${showPath(b).replaceAll('"', '\\"')}"`
}

/**
 * Splits an entry path into its components, refusing anything that could
 * name a place outside the extraction root. `.` and empty components (`./a//b/`)
 * are dropped; the root itself (`./`, `.`) gives `[]`.
 */
export function sanitizeEntryPath(raw: Buffer): Buffer[] {
  if (raw.length === 0) throw errors.pathEscape('""', 'empty path')
  // Checked before any scan so a huge pax path costs nothing more.
  if (raw.length > PATH_MAX) throw errors.nameTooLong(quotePath(raw), `path of ${raw.length} bytes exceeds ${PATH_MAX}`)
  if (raw.includes(0)) throw errors.pathEscape(quotePath(raw), 'path contains a NUL byte')
  if (raw[0] === SLASH) throw errors.pathEscape(quotePath(raw), 'absolute path')
  const out: Buffer[] = []
  let start = 0
  for (let i = 0; i <= raw.length; i++) {
    if (i < raw.length && raw[i] !== SLASH) continue
    const len = i - start
    if (len === 0 || (len === 1 && raw[start] === DOT)) {
      start = i + 1
      continue
    }
    if (len === 2 && raw[start] === DOT && raw[start + 1] === DOT) {
      throw errors.pathEscape(quotePath(raw), "path has a '..' component")
    }
    if (len > NAME_MAX) {
      throw errors.nameTooLong(quotePath(raw), `path component of ${len} bytes exceeds ${NAME_MAX}`)
    }
    out.push(raw.subarray(start, i))
    start = i + 1
  }
  return out
}
