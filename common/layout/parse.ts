// Reads a layout file (TOML, or the same structure as JSON) into a Layout.
// Every refusal names the file, the partition and the field, and says what
// is allowed: the person fixing it is often at a console in a machine room.
import { parse as parseToml } from 'smol-toml'
import { errors, type ImgswarmError } from '../errors.ts'
import { MBR_MAX_PRIMARY } from './constants.ts'
import { labelProblem, MKFS_OPTIONS_MAX, mkfsOptionProblem, mountProblem } from './rules.ts'
import { parseSize, SIZE_RULE } from './size.ts'
import {
  FLAGS,
  type Flag,
  FS_TYPES,
  type FsType,
  type Layout,
  type PartitionSpec,
  TABLES,
  type TableType,
} from './types.ts'

const TOP_KEYS = ['table', 'partition']
const PART_KEYS = ['label', 'size', 'fs', 'mount', 'flags', 'mkfs_options']
const MOUNTABLE: readonly FsType[] = ['ext4', 'xfs', 'vfat']
/** Far more than any real disk needs; keeps hostile files from costing much. */
const MAX_PARTITIONS = 128

type Raw = Record<string, unknown>

export function parseLayout(text: string, file: string): Layout {
  const fail = (detail: string): ImgswarmError => errors.layout(file, detail)
  if (typeof text !== 'string') throw fail('layout text must be a string')
  const raw = parseText(text, fail)
  refuseUnknown(raw, TOP_KEYS, 'at the top level', fail)

  const table = raw.table
  if (table === undefined) throw fail(`"table" is missing: say table = "gpt" or table = "msdos"`)
  if (typeof table !== 'string' || !(TABLES as readonly string[]).includes(table)) {
    throw fail(`"table" must be "gpt" or "msdos" (got ${show(table)})`)
  }
  const list = raw.partition
  if (list === undefined) throw fail('no [[partition]] entries: a layout needs at least one')
  if (!Array.isArray(list)) throw fail('"partition" must be an array of tables ([[partition]] in TOML)')
  if (list.length === 0) throw fail('no [[partition]] entries: a layout needs at least one')
  if (list.length > MAX_PARTITIONS) throw fail(`${list.length} partitions; at most ${MAX_PARTITIONS} are supported`)
  if (table === 'msdos' && list.length > MBR_MAX_PRIMARY) {
    throw fail(
      `an msdos table holds at most ${MBR_MAX_PRIMARY} primary partitions and logical partitions are not supported (this layout has ${list.length}); use table = "gpt"`,
    )
  }
  const partitions = list.map((p, i) => readPartition(p, i, table as TableType, fail))
  checkAcross(partitions, fail)
  return { table: table as TableType, partitions }
}

function parseText(text: string, fail: (d: string) => ImgswarmError): Raw {
  let value: unknown
  // JSON is told apart by its first character: a TOML document cannot start with "{".
  const json = text.trimStart().startsWith('{')
  try {
    value = json ? JSON.parse(text) : parseToml(text)
  } catch (e) {
    const msg = e instanceof Error ? e.message.split('\n')[0] : String(e)
    throw fail(`not valid ${json ? 'JSON' : 'TOML'}: ${msg}`)
  }
  if (!isRecord(value)) throw fail('must be a TOML document or a JSON object')
  return value
}

function readPartition(raw: unknown, i: number, table: TableType, fail: (d: string) => ImgswarmError): PartitionSpec {
  let where = `[[partition]] ${i + 1}`
  if (!isRecord(raw)) throw fail(`${where} must be a table of fields (label, size, fs, ...)`)
  if (typeof raw.label === 'string' && /^[A-Za-z0-9_-]{1,64}$/.test(raw.label)) where += ` ("${raw.label}")`
  const bad = (field: string, rule: string) => fail(`${where}: "${field}" ${rule}`)
  refuseUnknown(raw, PART_KEYS, `in ${where}`, fail)

  const fsRaw = raw.fs ?? 'none'
  if (typeof fsRaw !== 'string' || !(FS_TYPES as readonly string[]).includes(fsRaw)) {
    throw bad('fs', `must be one of ${FS_TYPES.join(', ')} (got ${show(fsRaw)})`)
  }
  const fs = fsRaw as FsType

  if (raw.label === undefined) throw bad('label', 'is missing: every partition needs one')
  if (typeof raw.label !== 'string') throw bad('label', `must be a string (got ${show(raw.label)})`)
  const labelWhy = labelProblem(raw.label, fs, table)
  if (labelWhy !== undefined) throw bad('label', `${show(raw.label)} ${labelWhy}`)

  if (raw.size === undefined) throw bad('size', `is missing: give ${SIZE_RULE}`)
  const size = typeof raw.size === 'string' ? parseSize(raw.size) : undefined
  if (size === undefined) throw bad('size', `must be ${SIZE_RULE} (got ${show(raw.size)})`)

  const spec: PartitionSpec = { label: raw.label, size, fs, flags: [], mkfsOptions: [] }
  if (raw.mount !== undefined) {
    if (typeof raw.mount !== 'string') throw bad('mount', `must be a string (got ${show(raw.mount)})`)
    if (!MOUNTABLE.includes(fs)) throw bad('mount', `is only allowed with fs = ext4, xfs or vfat (this one is ${fs})`)
    const why = mountProblem(raw.mount)
    if (why !== undefined) throw bad('mount', `${show(raw.mount)} ${why}`)
    spec.mount = raw.mount
  }
  if (raw.flags !== undefined) {
    if (!Array.isArray(raw.flags)) throw bad('flags', `must be an array such as ["esp"] (got ${show(raw.flags)})`)
    for (const f of raw.flags) {
      if (typeof f !== 'string' || !(FLAGS as readonly string[]).includes(f)) {
        throw bad('flags', `may hold only ${FLAGS.join(', ')} (got ${show(f)})`)
      }
      if (spec.flags.includes(f as Flag)) throw bad('flags', `lists "${f}" twice`)
      spec.flags.push(f as Flag)
    }
    if (spec.flags.includes('bios_grub')) {
      if (table !== 'gpt')
        throw bad('flags', '"bios_grub" exists only on gpt tables (on msdos GRUB uses the gap after the MBR)')
      if (fs !== 'none') throw bad('flags', `"bios_grub" partitions hold no file system: set fs = "none" (got ${fs})`)
    }
    if (spec.flags.includes('esp') && fs !== 'vfat') {
      throw bad('flags', `"esp" requires fs = "vfat": firmware reads only FAT (got ${fs})`)
    }
  }
  if (raw.mkfs_options !== undefined) {
    const opts = raw.mkfs_options
    if (!Array.isArray(opts)) throw bad('mkfs_options', `must be an array of strings (got ${show(opts)})`)
    if (fs === 'none' && opts.length > 0)
      throw bad('mkfs_options', 'makes no sense with fs = "none": nothing is formatted')
    if (opts.length > MKFS_OPTIONS_MAX) throw bad('mkfs_options', `may hold at most ${MKFS_OPTIONS_MAX} arguments`)
    for (const o of opts) {
      if (typeof o !== 'string') throw bad('mkfs_options', `must hold only strings (got ${show(o)})`)
      const why = mkfsOptionProblem(o)
      if (why !== undefined) throw bad('mkfs_options', `${why} (got ${show(o)})`)
    }
    spec.mkfsOptions = [...opts]
  }
  return spec
}

function checkAcross(parts: PartitionSpec[], fail: (d: string) => ImgswarmError): void {
  const name = (p: PartitionSpec) => `[[partition]] ${parts.indexOf(p) + 1} ("${p.label}")`
  const grows = parts.filter((p) => p.size.unit === 'grow')
  if (grows.length > 1) {
    throw fail(`"size" = "grow" is allowed on one partition only; ${grows.map(name).join(' and ')} both ask for it`)
  }
  const percent = parts.reduce((sum, p) => sum + (p.size.unit === '%' ? p.size.value : 0), 0)
  if (percent > 100) throw fail(`the % sizes add up to ${percent}%; they must stay at or under 100%`)
  const labels = new Map<string, PartitionSpec>()
  for (const p of parts) {
    // Case-insensitive because FAT labels are upper-cased and LABEL= lookups must stay unambiguous.
    const key = p.label.toLowerCase()
    const prev = labels.get(key)
    if (prev !== undefined) throw fail(`${name(p)}: "label" repeats the label of ${name(prev)}; labels must be unique`)
    labels.set(key, p)
  }
  const mounts = new Map<string, PartitionSpec>()
  for (const p of parts) {
    if (p.mount === undefined) continue
    const prev = mounts.get(p.mount)
    if (prev !== undefined) throw fail(`${name(p)}: "mount" ${p.mount} is already used by ${name(prev)}`)
    mounts.set(p.mount, p)
  }
  const root = mounts.get('/')
  if (mounts.size > 0 && root === undefined) {
    throw fail('no partition is mounted at "/": a layout that mounts anything needs exactly one root (mount = "/")')
  }
  if (root !== undefined && root.fs === 'vfat') throw fail(`${name(root)}: "/" must be ext4 or xfs, not vfat`)
  for (const flag of ['esp', 'boot', 'bios_grub'] as const) {
    const withFlag = parts.filter((p) => p.flags.includes(flag))
    if (withFlag.length > 1) {
      throw fail(`flag "${flag}" is set on ${withFlag.map(name).join(' and ')}; at most one partition may carry it`)
    }
  }
}

function refuseUnknown(raw: Raw, allowed: string[], where: string, fail: (d: string) => ImgswarmError): void {
  for (const key of Object.keys(raw)) {
    if (!allowed.includes(key)) {
      throw fail(`unknown key ${JSON.stringify(key)} ${where}; allowed: ${allowed.join(', ')}`)
    }
  }
}

function isRecord(v: unknown): v is Raw {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date)
}

/** A short, safe rendering of a bad value for a message. */
function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? `${v.slice(0, 60)}...` : v)
  if (typeof v === 'number' || typeof v === 'boolean') return String(v)
  if (Array.isArray(v)) return 'an array'
  if (v === null) return 'null'
  return `a ${typeof v === 'object' ? 'table' : typeof v}`
}
