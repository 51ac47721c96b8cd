// The `serve.tls` setting (docs/tls.md), parsed strictly: plain HTTP unless
// asked for, "auto" (serve's own CA), or operator-supplied PEM files.
import { dirname, isAbsolute, resolve } from 'node:path'
import { errors } from './errors.ts'

export type TlsSetting = { mode: 'auto'; sans: string[] } | { mode: 'files'; cert: string; key: string; sans: string[] }

const HOST =
  /^(\[[0-9a-fA-F:.]+\]|[0-9a-fA-F:.]+|[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*)$/

function sans(file: string, v: unknown): string[] {
  if (v === undefined) return []
  if (!Array.isArray(v) || v.length > 64 || !v.every((s) => typeof s === 'string' && s.length <= 253 && HOST.test(s))) {
    throw errors.config(file, 'serve.tls.sans must be a list of host names or IP addresses (at most 64)')
  }
  return v as string[]
}

/** `serve.tls`: absent, false or "off": plain HTTP; "auto"; or a table { auto, cert, key, sans }. */
export function parseTlsSetting(file: string, v: unknown): TlsSetting | undefined {
  if (v === undefined || v === false || v === 'off') return undefined
  if (v === 'auto' || v === true) return { mode: 'auto', sans: [] }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw errors.config(file, 'serve.tls must be "auto", "off", or a table with cert and key (docs/tls.md)')
  }
  const t = v as Record<string, unknown>
  for (const k of Object.keys(t)) {
    if (!['auto', 'cert', 'key', 'sans'].includes(k)) throw errors.config(file, `serve.tls.${k}: unknown key`)
  }
  const path = (k: 'cert' | 'key') => {
    const p = t[k]
    if (p === undefined) return undefined
    if (typeof p !== 'string' || p === '') throw errors.config(file, `serve.tls.${k} must be the path of a PEM file`)
    return isAbsolute(p) || file === '(none)' ? p : resolve(dirname(file), p)
  }
  const cert = path('cert')
  const key = path('key')
  if (t.auto !== undefined && typeof t.auto !== 'boolean')
    throw errors.config(file, 'serve.tls.auto must be true or false')
  if (t.auto === true && (cert || key)) throw errors.config(file, 'serve.tls: auto excludes cert and key')
  if ((cert === undefined) !== (key === undefined)) throw errors.config(file, 'serve.tls needs both cert and key')
  if (cert !== undefined && key !== undefined) return { mode: 'files', cert, key, sans: sans(file, t.sans) }
  if (t.auto === false) return undefined
  return { mode: 'auto', sans: sans(file, t.sans) }
}
