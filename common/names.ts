// Image, override and version names. They become path components in the
// store and URL segments in the API, so the rule is strict and documented.
import { errors } from './errors.ts'

const NAME = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$/
export const NAME_RULE = '1-64 characters from A-Z a-z 0-9 . _ + -, starting with a letter or digit'

export function checkName(what: string, value: string): string {
  if (!NAME.test(value)) throw errors.invalidName(what, value, NAME_RULE)
  return value
}

export interface Ref {
  name: string
  version: string | undefined
}

/** Parses `NAME` or `NAME@VERSION`. */
export function parseRef(ref: string, what = 'image'): Ref {
  const at = ref.indexOf('@')
  if (at < 0) return { name: checkName(`${what} name`, ref), version: undefined }
  return { name: checkName(`${what} name`, ref.slice(0, at)), version: checkName('version', ref.slice(at + 1)) }
}

export function formatRef(name: string, version: string): string {
  return `${name}@${version}`
}

/** Natural order: numeric versions by value, then the rest by text. */
export function compareVersions(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true })
}

/** The next free numeric version after the highest numeric one. */
export function nextVersion(existing: string[]): string {
  let max = 0
  for (const v of existing) if (/^[0-9]{1,9}$/.test(v)) max = Math.max(max, Number(v))
  return String(max + 1)
}
