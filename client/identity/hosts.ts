// The text of the node's identity files; pure, so the rules are easy to test.
import { normalizeHostname } from '../../common/cmdline.ts'
import { errors } from '../../common/errors.ts'

/** Lower-cased and checked against RFC 1123; IMGSWARM_ERR_HOSTNAME otherwise. */
export function checkHostname(name: string): string {
  const h = normalizeHostname(name)
  if (h === undefined) throw errors.hostname(name)
  return h
}

function firstField(line: string): string | undefined {
  const data = line.replace(/#.*/, '').trim()
  return data === '' ? undefined : data.split(/\s+/)[0]
}

/**
 * /etc/hosts with the node's name the Debian way: one `127.0.1.1 FQDN SHORT`
 * line (just `127.0.1.1 NAME` for a single label) right after the 127.0.0.1
 * line; earlier 127.0.1.1 lines go, every other line stays as the image had it.
 * A file without a 127.0.0.1 line gets `127.0.0.1 localhost` first.
 */
export function hostsWithName(text: string | undefined, hostname: string): string {
  const short = hostname.split('.')[0] as string
  const ours = short === hostname ? `127.0.1.1\t${hostname}` : `127.0.1.1\t${hostname}\t${short}`
  const lines = (text ?? '').split('\n')
  if (lines.at(-1) === '') lines.pop()
  const kept = lines.filter((l) => firstField(l) !== '127.0.1.1')
  const at = kept.findIndex((l) => firstField(l) === '127.0.0.1')
  if (at === -1) kept.unshift('127.0.0.1\tlocalhost', ours)
  else kept.splice(at + 1, 0, ours)
  return `${kept.join('\n')}\n`
}

export function fstabText(lines: string[]): string {
  return [
    '# /etc/fstab: written by imgswarm from the disk layout, by file system UUID.',
    '# <file system> <mount point> <type> <options> <dump> <pass>',
    ...lines,
    '',
  ].join('\n')
}

/** A shell fragment (`. /etc/imgswarm/node.env`) with one KEY='value' line each; nulls become empty. */
export function envFileText(env: Record<string, string>): string {
  const quote = (v: string) => `'${v.replaceAll("'", `'\\''`)}'`
  return [
    '# Written by imgswarm at install time: what this node was installed with.',
    ...Object.entries(env).map(([k, v]) => `${k}=${quote(v)}`),
    '',
  ].join('\n')
}
