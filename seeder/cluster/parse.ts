// Reads cluster.toml into a ClusterConfig, or into every problem it has,
// each pointing at the line and column of the key to change. Nothing stops
// at the first problem: a person fixing a file wants the whole list.
import { readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { parse as parseToml, TomlError } from 'smol-toml'
import { isImgswarmError } from '../../common/errors.ts'
import { parseLayout } from '../../common/layout/index.ts'
import { parseRef } from '../../common/names.ts'
import { planDiskOf } from '../../common/plan.ts'
import { normalizeHostname, normalizeIp, normalizeMac } from '../plans/config.ts'
import { type PlanDisk, POST_ACTIONS, type PostAction } from '../plans/types.ts'
import { checkCoverage } from './coverage.ts'
import { type KeyPath, type Positions, scanPositions } from './positions.ts'
import { type HostPattern, HostRangeError, MAX_RANGE_HOSTS, parseHostPattern } from './range.ts'
import { ClusterIndex } from './resolve.ts'
import { tieWarnings } from './ties.ts'
import type { ClusterConfig, Diagnostic, GroupDef, HostDef, Layer, LayoutSetting, Setting, Source } from './types.ts'

/** Reads a layout file the config names (a test may pass its own). */
export type LayoutReader = (path: string) => string

/** Larger files are refused before parsing: 16 MiB holds far more than 100,000 hosts. */
export const MAX_FILE_BYTES = 16 << 20
/** Deeper nesting has no meaning in this format; refusing it early keeps hostile files cheap. */
const MAX_DEPTH = 8
/** [[group]] and [[host]] tables together: as many as the hosts ranges may name. */
export const MAX_TABLES = 100_000
const PRIORITY_LIMIT = 1_000_000
const GROUP_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/

const TOP_KEYS = ['global', 'group', 'host']
const LAYER_KEYS = ['image', 'overrides', 'layout', 'post']
const GROUP_KEYS = ['name', 'priority', 'auto_enrol', 'hosts', 'macs', ...LAYER_KEYS]
const HOST_KEYS = ['hostname', 'mac', 'ip', 'groups', ...LAYER_KEYS]

export interface ParseResult {
  /** Undefined when there is any diagnostic. */
  config: ClusterConfig | undefined
  diagnostics: Diagnostic[]
  /** Things that are allowed but probably not meant (equal priorities that disagree); only for a valid file. */
  warnings: Diagnostic[]
}

type Table = Record<string, unknown>

const isTable = (v: unknown): v is Table => typeof v === 'object' && v !== null && !Array.isArray(v)
const show = (v: unknown) => (typeof v === 'string' ? JSON.stringify(v) : Array.isArray(v) ? 'an array' : String(v))

class Checker {
  readonly diagnostics: Diagnostic[] = []
  readonly #layouts = new Map<string, PlanDisk | string>()

  readonly file: string
  readonly pos: Positions
  readonly readLayout: LayoutReader

  constructor(file: string, pos: Positions, readLayout: LayoutReader) {
    this.file = file
    this.pos = pos
    this.readLayout = readLayout
  }

  fail(path: KeyPath, message: string): void {
    const p = this.pos.at(path)
    this.diagnostics.push({ file: this.file, line: p.line, col: p.col, message })
  }

  line(path: KeyPath): number {
    return this.pos.at(path).line
  }

  keys(path: KeyPath, t: Table, allowed: string[], where: string): void {
    for (const k of Object.keys(t)) {
      if (!allowed.includes(k))
        this.fail([...path, k], `unknown key ${JSON.stringify(k)} in ${where} (allowed: ${allowed.join(', ')})`)
    }
  }

  ref(path: KeyPath, v: unknown, kind: 'image' | 'override'): string | undefined {
    if (typeof v !== 'string') {
      this.fail(path, `${kind} must be a string NAME or NAME@VERSION (got ${show(v)})`)
      return undefined
    }
    try {
      parseRef(v, kind)
      return v
    } catch (e) {
      this.fail(path, (e as Error).message)
      return undefined
    }
  }

  layer(path: KeyPath, t: Table, src: Omit<Source, 'line'>): Layer {
    const at = (k: string): Source => ({ ...src, line: this.line([...path, k]) })
    const layer: Layer = { image: undefined, overrides: [], post: undefined, layout: undefined }
    if (t.image !== undefined) {
      const v = this.ref([...path, 'image'], t.image, 'image')
      if (v !== undefined) layer.image = { value: v, from: at('image') }
    }
    if (t.overrides !== undefined) {
      if (!Array.isArray(t.overrides)) {
        this.fail([...path, 'overrides'], 'overrides must be an array of NAME or NAME@VERSION strings')
      } else {
        t.overrides.forEach((o, i) => {
          const v = this.ref([...path, 'overrides', i], o, 'override')
          const from = { ...src, line: this.line([...path, 'overrides', i]) }
          if (v !== undefined) layer.overrides.push({ value: v, from })
        })
      }
    }
    if (t.post !== undefined) {
      if (typeof t.post !== 'string' || !(POST_ACTIONS as readonly string[]).includes(t.post)) {
        this.fail([...path, 'post'], `unknown post-action ${show(t.post)}: use one of ${POST_ACTIONS.join(', ')}`)
      } else {
        layer.post = { value: t.post as PostAction, from: at('post') }
      }
    }
    if (t.layout !== undefined) {
      const l = this.layout([...path, 'layout'], t.layout)
      if (l) layer.layout = { value: l, from: at('layout') }
    }
    return layer
  }

  layout(path: KeyPath, v: unknown): LayoutSetting | undefined {
    if (typeof v !== 'string' || v.length === 0) {
      this.fail(path, 'layout must be the path of a disk layout file (relative to this file)')
      return undefined
    }
    const full = resolve(dirname(this.file), v)
    let known = this.#layouts.get(full)
    if (known === undefined) {
      try {
        let text: string
        try {
          text = this.readLayout(full)
        } catch (e) {
          throw new Error(`cannot read ${full} (${(e as NodeJS.ErrnoException).code ?? String(e)})`)
        }
        known = planDiskOf(parseLayout(text, full))
      } catch (e) {
        if (!isImgswarmError(e) && !(e instanceof Error)) throw e
        known = (e as Error).message
      }
      this.#layouts.set(full, known)
    }
    if (typeof known === 'string') {
      this.fail(path, `layout ${JSON.stringify(v)}: ${known}`)
      return undefined
    }
    return { path: v, disk: known }
  }

  strings(path: KeyPath, v: unknown, what: string): { value: string; path: KeyPath }[] {
    if (v === undefined) return []
    if (!Array.isArray(v)) {
      this.fail(path, `${what} must be an array of strings`)
      return []
    }
    const out: { value: string; path: KeyPath }[] = []
    v.forEach((s, i) => {
      if (typeof s !== 'string') this.fail([...path, i], `${what}[${i}] must be a string (got ${show(s)})`)
      else out.push({ value: s, path: [...path, i] })
    })
    return out
  }
}

function tomlProblem(e: unknown, file: string): Diagnostic {
  if (e instanceof TomlError) {
    const first = e.message.split('\n')[0] ?? 'invalid TOML'
    return { file, line: e.line, col: e.column, message: `not valid TOML: ${first}` }
  }
  return { file, line: 1, col: 1, message: `not valid TOML: ${(e as Error).message.split('\n')[0]}` }
}

const readText: LayoutReader = (path) => readFileSync(path, 'utf8')

export function parseCluster(text: string, file: string, readLayout: LayoutReader = readText): ParseResult {
  const bytes = Buffer.byteLength(text)
  if (bytes > MAX_FILE_BYTES) {
    const message = `the file is ${bytes} bytes, more than the limit of ${MAX_FILE_BYTES} (16 MiB): split the fleet or use ranges`
    return { config: undefined, diagnostics: [{ file, line: 1, col: 1, message }], warnings: [] }
  }
  // Counted before parsing: the TOML parser slows down on very many tables.
  const tables = text.match(/^[ \t]*\[\[/gm)?.length ?? 0
  if (tables > MAX_TABLES) {
    const message = `the file has ${tables} [[group]]/[[host]] tables, more than the limit of ${MAX_TABLES}: use host ranges in groups`
    return { config: undefined, diagnostics: [{ file, line: 1, col: 1, message }], warnings: [] }
  }
  let doc: Table
  try {
    doc = parseToml(text, { maxDepth: MAX_DEPTH }) as Table
  } catch (e) {
    return { config: undefined, diagnostics: [tomlProblem(e, file)], warnings: [] }
  }
  const c = new Checker(file, scanPositions(text), readLayout)
  c.keys([], doc, TOP_KEYS, 'the file (use [global], [[group]] and [[host]])')

  let global: Layer = { image: undefined, overrides: [], post: undefined, layout: undefined }
  if (doc.global !== undefined) {
    if (!isTable(doc.global)) c.fail(['global'], 'global must be a table: write [global]')
    else {
      c.keys(['global'], doc.global, LAYER_KEYS, '[global]')
      global = c.layer(['global'], doc.global, { kind: 'global', name: '' })
    }
  }

  const groups = readGroups(c, doc.group)
  const hosts = readHosts(c, doc.host, groups)
  const config: ClusterConfig = { file, global, groups, hosts }
  if (c.diagnostics.length === 0) checkCoverage(config, (path, msg) => c.fail(path, msg))
  const byPos = (a: Diagnostic, b: Diagnostic) => a.line - b.line || a.col - b.col
  const diagnostics = c.diagnostics.sort(byPos)
  if (diagnostics.length > 0) return { config: undefined, diagnostics, warnings: [] }
  const warnings: Diagnostic[] = []
  tieWarnings(new ClusterIndex(config), (path, message) => {
    const p = c.pos.at(path)
    warnings.push({ file, line: p.line, col: p.col, message })
  })
  return { config, diagnostics, warnings: warnings.sort(byPos) }
}

function readGroups(c: Checker, raw: unknown): GroupDef[] {
  if (raw === undefined) return []
  if (!Array.isArray(raw)) {
    c.fail(['group'], 'group must be an array of tables: write [[group]] for each group')
    return []
  }
  const groups: GroupDef[] = []
  const names = new Map<string, number>()
  let total = 0
  raw.forEach((g, i) => {
    const path: KeyPath = ['group', i]
    if (!isTable(g)) {
      c.fail(path, 'each group must be a table: write [[group]]')
      return
    }
    c.keys(path, g, GROUP_KEYS, `[[group]] #${i + 1}`)
    let name = ''
    if (typeof g.name !== 'string' || !GROUP_NAME.test(g.name)) {
      c.fail(
        g.name === undefined ? path : [...path, 'name'],
        g.name === undefined
          ? `[[group]] #${i + 1} has no name: add name = "..."`
          : `group name ${show(g.name)} must be 1 to 64 characters from A-Z a-z 0-9 . _ -, starting with a letter or digit`,
      )
    } else {
      name = g.name
      const other = names.get(name)
      if (other !== undefined)
        c.fail([...path, 'name'], `duplicate group name ${JSON.stringify(name)} (first defined on line ${other})`)
      else names.set(name, c.line([...path, 'name']))
    }
    const label = name || `#${i + 1}`
    let priority = 0
    if (g.priority !== undefined) {
      if (typeof g.priority !== 'number' || !Number.isInteger(g.priority) || Math.abs(g.priority) > PRIORITY_LIMIT) {
        c.fail(
          [...path, 'priority'],
          `priority must be a whole number from -${PRIORITY_LIMIT} to ${PRIORITY_LIMIT} (got ${show(g.priority)})`,
        )
      } else priority = g.priority
    }
    let autoEnrol = false
    if (g.auto_enrol !== undefined) {
      if (typeof g.auto_enrol !== 'boolean') c.fail([...path, 'auto_enrol'], 'auto_enrol must be true or false')
      else autoEnrol = g.auto_enrol
    }
    const hosts: HostPattern[] = []
    for (const s of c.strings([...path, 'hosts'], g.hosts, 'hosts')) {
      try {
        const p = parseHostPattern(s.value)
        total += p.count
        if (total > MAX_RANGE_HOSTS) {
          c.fail(
            s.path,
            `${s.value}: the file's host ranges stand for more than ${MAX_RANGE_HOSTS.toLocaleString('en')} hosts in all (the limit)`,
          )
          total = Number.NEGATIVE_INFINITY // one message is enough
        }
        hosts.push(p)
      } catch (e) {
        if (!(e instanceof HostRangeError)) throw e
        c.fail(s.path, `bad host range: ${e.message}`)
      }
    }
    const macs: string[] = []
    for (const s of c.strings([...path, 'macs'], g.macs, 'macs')) {
      const m = normalizeMac(s.value)
      if (m === undefined) c.fail(s.path, `${JSON.stringify(s.value)} is not a MAC address (like 52:54:00:12:34:56)`)
      else macs.push(m)
    }
    const layer = c.layer(path, g, { kind: 'group', name: label })
    groups.push({ ...layer, name, priority, order: i, autoEnrol, hosts, macs, line: c.line(path) })
  })
  return groups
}

function readHosts(c: Checker, raw: unknown, groups: GroupDef[]): HostDef[] {
  if (raw === undefined) return []
  if (!Array.isArray(raw)) {
    c.fail(['host'], 'host must be an array of tables: write [[host]] for each host')
    return []
  }
  const known = new Set(groups.map((g) => g.name))
  const seen = { mac: new Map<string, number>(), hostname: new Map<string, number>(), ip: new Map<string, number>() }
  const hosts: HostDef[] = []
  raw.forEach((h, i) => {
    const path: KeyPath = ['host', i]
    if (!isTable(h)) {
      c.fail(path, 'each host must be a table: write [[host]]')
      return
    }
    c.keys(path, h, HOST_KEYS, `[[host]] #${i + 1}`)
    const ident = (key: 'mac' | 'hostname' | 'ip', norm: (v: string) => string | undefined, what: string) => {
      const v = h[key]
      if (v === undefined) return undefined
      const s = typeof v === 'string' ? norm(v) : undefined
      if (s === undefined) {
        c.fail([...path, key], `${key} ${show(v)} is not ${what}`)
        return undefined
      }
      const other = seen[key].get(s)
      if (other !== undefined) {
        c.fail([...path, key], `${key} ${s} is already used by the host on line ${other}`)
        return undefined
      }
      seen[key].set(s, c.line(path))
      return s
    }
    const hostname = ident('hostname', normalizeHostname, 'a valid host name (RFC 1123)')
    const mac = ident('mac', normalizeMac, 'a MAC address (like 52:54:00:12:34:56)')
    const ip = ident('ip', normalizeIp, 'an IPv4 or IPv6 address')
    if (h.hostname === undefined && h.mac === undefined && h.ip === undefined) {
      c.fail(path, `[[host]] #${i + 1} needs at least one of hostname, mac, ip`)
    }
    const label = hostname ?? mac ?? ip ?? `#${i + 1}`
    const member: string[] = []
    for (const s of c.strings([...path, 'groups'], h.groups, 'groups')) {
      if (!known.has(s.value)) c.fail(s.path, `no group is named ${JSON.stringify(s.value)}`)
      else member.push(s.value)
    }
    const layer = c.layer(path, h, { kind: 'host', name: label })
    hosts.push({ ...layer, hostname, mac, ip, groups: member, line: c.line(path), label })
  })
  return hosts
}

export type { Setting }
