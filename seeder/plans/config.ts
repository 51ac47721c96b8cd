// plans.toml: which image, overrides and post-action each node gets. A
// stopgap until the cluster config (groups, host ranges) replaces it; the
// rules here are strict so a typo never turns into a wrong install.
import { readFileSync } from 'node:fs'
import { isIP } from 'node:net'
import { dirname, resolve } from 'node:path'
import { parse as parseToml } from 'smol-toml'
import { normalizeHostname as cmdlineHostname, normalizeMac as cmdlineMac } from '../../common/cmdline.ts'
import { errors, isImgswarmError } from '../../common/errors.ts'
import { parseLayout } from '../../common/layout/index.ts'
import { parseRef } from '../../common/names.ts'
import { type PlanDisk, planDiskOf } from '../../common/plan.ts'
import { overrideEntry } from '../direct/entry.ts'
import { type NodeIdentity, POST_ACTIONS, type PostAction } from './types.ts'

export interface NodeEntry {
  /** 1-based position of the [[node]] table in the file. */
  index: number
  mac: string | undefined
  hostname: string | undefined
  ip: string | undefined
  image: string | undefined
  overrides: string[] | undefined
  post: PostAction | undefined
  /** From `layout = "FILE"`; undefined: the [defaults] one. */
  disk: PlanDisk | undefined
}

export interface PlansConfig {
  file: string
  /** disk: the [defaults] layout (absent or null: none). */
  defaults: { image: string | undefined; overrides: string[]; post: PostAction; disk?: PlanDisk | null }
  nodes: NodeEntry[]
  /** Override names marked `{ name = "...", direct = true }` anywhere in the file (docs/secrets.md). */
  direct?: Set<string>
}

/** Reads a layout file named in plans.toml (a test may pass its own). */
export type LayoutReader = (path: string) => string

const readText: LayoutReader = (path) => readFileSync(path, 'utf8')

/** The kernel command line's rules, after trimming (plans files and query strings may pad). */
export function normalizeMac(v: string): string | undefined {
  return cmdlineMac(v.trim())
}

export function normalizeHostname(v: string): string | undefined {
  return cmdlineHostname(v.trim())
}

/** Strips the IPv4-mapped IPv6 prefix, so `::ffff:10.0.0.1` matches `10.0.0.1`. */
export function normalizeIp(v: string): string | undefined {
  const s = v.trim().replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '')
  return isIP(s) === 0 ? undefined : s.toLowerCase()
}

const DEFAULT_KEYS = new Set(['image', 'overrides', 'post', 'layout'])
const NODE_KEYS = new Set(['mac', 'hostname', 'ip', 'image', 'overrides', 'post', 'layout'])

/**
 * Parses plans.toml. Layout files it names (`layout = "FILE"`, relative to
 * the plans file) are read and validated now, so a bad layout fails the load
 * or reload, not a node's install.
 */
export function parsePlansToml(text: string, file: string, readLayout: LayoutReader = readText): PlansConfig {
  let doc: Record<string, unknown>
  try {
    doc = parseToml(text) as Record<string, unknown>
  } catch (e) {
    throw errors.config(file, `not valid TOML: ${(e as Error).message.split('\n')[0]}`)
  }
  const bad = (where: string, detail: string) => errors.config(file, `${where}: ${detail}`)
  for (const k of Object.keys(doc)) {
    if (k !== 'defaults' && k !== 'node') throw bad(k, 'unknown key (expected [defaults] and [[node]] tables)')
  }

  const image = (where: string, v: unknown): string => {
    if (typeof v !== 'string') throw bad(where, 'image must be a string NAME or NAME@VERSION')
    try {
      parseRef(v, 'image')
    } catch (e) {
      throw bad(where, (e as Error).message)
    }
    return v
  }
  const direct = new Set<string>()
  const overrides = (where: string, v: unknown): string[] => {
    if (!Array.isArray(v)) throw bad(where, 'overrides must be an array of NAME or NAME@VERSION strings')
    return v.map((entry, i) => {
      const { ref: o, direct: isDirect, problem } = overrideEntry(entry)
      if (problem !== undefined) throw bad(where, `overrides[${i}]: ${problem}`)
      if (typeof o !== 'string')
        throw bad(where, `overrides[${i}] must be a string (or { name = "...", direct = true })`)
      if (isDirect) direct.add(o.split('@')[0] as string)
      try {
        parseRef(o, 'override')
      } catch (e) {
        throw bad(where, `overrides[${i}]: ${(e as Error).message}`)
      }
      return o
    })
  }
  const post = (where: string, v: unknown): PostAction => {
    if (typeof v !== 'string' || !(POST_ACTIONS as readonly string[]).includes(v)) {
      throw bad(where, `post must be one of ${POST_ACTIONS.join(', ')} (got ${JSON.stringify(v)})`)
    }
    return v as PostAction
  }

  const layouts = new Map<string, PlanDisk>()
  const layout = (where: string, v: unknown): PlanDisk => {
    if (typeof v !== 'string' || v.length === 0) throw bad(where, 'layout must be the path of a disk layout file')
    const path = resolve(dirname(file), v)
    const known = layouts.get(path)
    if (known) return known
    let disk: PlanDisk
    try {
      let layoutText: string
      try {
        layoutText = readLayout(path)
      } catch (e) {
        throw errors.layout(path, `cannot read it (${(e as NodeJS.ErrnoException).code ?? String(e)})`)
      }
      disk = planDiskOf(parseLayout(layoutText, path))
    } catch (e) {
      if (isImgswarmError(e)) throw bad(where, `layout ${JSON.stringify(v)}: ${e.message}`)
      throw e
    }
    layouts.set(path, disk)
    return disk
  }

  const d = doc.defaults ?? {}
  if (typeof d !== 'object' || d === null || Array.isArray(d)) throw bad('[defaults]', 'must be a table')
  const dt = d as Record<string, unknown>
  for (const k of Object.keys(dt)) if (!DEFAULT_KEYS.has(k)) throw bad('[defaults]', `unknown key ${JSON.stringify(k)}`)
  const defaults = {
    image: dt.image === undefined ? undefined : image('[defaults]', dt.image),
    overrides: dt.overrides === undefined ? [] : overrides('[defaults]', dt.overrides),
    post: dt.post === undefined ? ('reboot' as const) : post('[defaults]', dt.post),
    disk: dt.layout === undefined ? null : layout('[defaults]', dt.layout),
  }

  const rawNodes = doc.node ?? []
  if (!Array.isArray(rawNodes)) throw bad('node', 'must be an array of tables: write [[node]]')
  const seen = { mac: new Map<string, number>(), hostname: new Map<string, number>(), ip: new Map<string, number>() }
  const nodes = rawNodes.map((raw, i): NodeEntry => {
    const index = i + 1
    const where = `[[node]] #${index}`
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw bad(where, 'must be a table')
    const n = raw as Record<string, unknown>
    for (const k of Object.keys(n)) if (!NODE_KEYS.has(k)) throw bad(where, `unknown key ${JSON.stringify(k)}`)
    const ident = (key: 'mac' | 'hostname' | 'ip', norm: (v: string) => string | undefined, what: string) => {
      const v = n[key]
      if (v === undefined) return undefined
      const s = typeof v === 'string' ? norm(v) : undefined
      if (s === undefined) throw bad(where, `${key} ${JSON.stringify(v)} is not ${what}`)
      const other = seen[key].get(s)
      if (other !== undefined) throw bad(where, `${key} ${s} is already used by [[node]] #${other}`)
      seen[key].set(s, index)
      return s
    }
    const entry: NodeEntry = {
      index,
      mac: ident('mac', normalizeMac, 'a MAC address (like 52:54:00:12:34:56)'),
      hostname: ident('hostname', normalizeHostname, 'a valid host name'),
      ip: ident('ip', normalizeIp, 'an IPv4 or IPv6 address'),
      image: n.image === undefined ? undefined : image(where, n.image),
      overrides: n.overrides === undefined ? undefined : overrides(where, n.overrides),
      post: n.post === undefined ? undefined : post(where, n.post),
      disk: n.layout === undefined ? undefined : layout(where, n.layout),
    }
    if (!entry.mac && !entry.hostname && !entry.ip) throw bad(where, 'needs at least one of mac, hostname, ip')
    if (entry.image === undefined && defaults.image === undefined) {
      throw bad(where, 'has no image, and [defaults] sets none')
    }
    return entry
  })
  return { file, defaults, nodes, ...(direct.size > 0 ? { direct } : {}) }
}

export function identityOf(n: NodeEntry): NodeIdentity {
  return { hostname: n.hostname ?? null, mac: n.mac ?? null, ip: n.ip ?? null }
}
