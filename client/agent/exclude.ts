// Paths a delta update never writes, deletes or changes the metadata of
// (docs/node-update.md, "Excludes"): the node's identity and credential, the
// agent itself, and the patterns of /etc/imgswarm/update.exclude.
//
// Pattern syntax, one a line (blank lines and lines starting with # skipped):
//   /etc/foo      anchored at the root: that path, and everything under it if it is a directory
//   /srv/*/cache  `*` and `?` match within one path component, `**` across components
//   *.log         no leading slash: matches the last components at any depth
// Paths are compared as the bytes of the file names (latin1 strings here).

import { errors } from '../../common/errors.ts'

/** Always excluded: what install and enrolment made per node, and the agent's own files. */
export const BUILTIN_EXCLUDES = [
  '/etc/imgswarm',
  '/etc/hostname',
  '/etc/hosts',
  '/etc/fstab',
  '/etc/machine-id',
  '/var/lib/dbus/machine-id',
  '/etc/ssh/ssh_host_*',
  '/opt/imgswarm',
  '/var/lib/imgswarm-agent',
  '/.imgswarm-install',
  '/etc/systemd/system/imgswarm-agent.service',
  '/etc/systemd/system/multi-user.target.wants/imgswarm-agent.service',
]

const MAX_LINE = 4096
const MAX_PATTERNS = 10_000

function globToRegex(glob: string): string {
  let out = ''
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string
    if (c === '*' && glob[i + 1] === '*') {
      out += '.*'
      i++
    } else if (c === '*') out += '[^/]*'
    else if (c === '?') out += '[^/]'
    else out += c.replace(/[\\^$.|+()[\]{}]/g, '\\$&')
  }
  return out
}

export interface Excludes {
  /** True when the relative path (no leading `/`) must be left alone. */
  matches(rel: string): boolean
  readonly patterns: readonly string[]
}

export function compileExcludes(patterns: readonly string[]): Excludes {
  const res = patterns.map((p) => {
    const trimmed = p.replace(/\/+$/, '')
    if (trimmed.startsWith('/')) return new RegExp(`^${globToRegex(trimmed.slice(1))}(/.*)?$`, 's')
    return new RegExp(`(^|/)${globToRegex(trimmed)}(/.*)?$`, 's')
  })
  return { patterns, matches: (rel) => res.some((r) => r.test(rel)) }
}

/** Parses update.exclude; a coded error names the bad line. */
export function parseExcludeFile(text: string, file: string): string[] {
  const out: string[] = []
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] as string).replace(/\r$/, '').trim()
    if (line === '' || line.startsWith('#')) continue
    if (line.length > MAX_LINE) throw errors.excludeSyntax(file, i + 1, `longer than ${MAX_LINE} characters`)
    if (line.includes('\0')) throw errors.excludeSyntax(file, i + 1, 'holds a NUL byte')
    if (line === '/' || line === '/**' || line === '**') {
      throw errors.excludeSyntax(file, i + 1, 'excludes everything; to stop updates, do not run imgswarm node update')
    }
    if (line.split('/').some((c) => c === '..' || c === '.')) {
      throw errors.excludeSyntax(file, i + 1, 'has a . or .. component')
    }
    out.push(line)
    if (out.length > MAX_PATTERNS) throw errors.excludeSyntax(file, i + 1, `more than ${MAX_PATTERNS} patterns`)
  }
  return out
}
