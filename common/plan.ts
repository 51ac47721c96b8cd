// The install plan (API v1): the contract between the image server and the
// boot client. Shared here because the client must not import seeder/.
// Change the shape only by bumping apiVersion. The client treats a plan as
// hostile input: validatePlan refuses anything it does not expect, so a
// compromised or confused server cannot steer it to other URLs or files.
import { errors, isImgswarmError } from './errors.ts'
import { type Flag, type FsType, formatSize, type Layout, parseLayout, type TableType } from './layout/index.ts'
import { checkName } from './names.ts'

export const PLAN_API_VERSION = 1

export const POST_ACTIONS = ['reboot', 'poweroff', 'kexec', 'shell', 'none'] as const
export type PostAction = (typeof POST_ACTIONS)[number]

export interface NodeIdentity {
  hostname: string | null
  mac: string | null
  ip: string | null
}

/** One packed archive a node installs: the image, or one override. */
export interface PlanArtifact {
  name: string
  version: string
  infoHash: string
  /** Server-relative URLs. */
  torrent: string
  manifest: string
  signature: string
  webseed: string
  size: number
  sha256: string
  compression: 'none' | 'zstd'
  /** Server-relative URL of the archive index (docs/archive-index.md); null when the archive has none. */
  index: string | null
}

/** One partition of a plan's disk layout: the JSON form of docs/disk-layout.md. */
export interface PlanDiskPartition {
  label: string
  size: string
  fs: FsType
  mount?: string
  flags?: Flag[]
  mkfs_options?: string[]
}

/** A disk layout in the JSON form parseLayout reads (docs/disk-layout.md). */
export interface PlanDisk {
  table: TableType
  partition: PlanDiskPartition[]
}

export interface InstallPlan {
  apiVersion: typeof PLAN_API_VERSION
  node: NodeIdentity
  image: PlanArtifact
  /** Applied in order; later ones win. */
  overrides: PlanArtifact[]
  post: PostAction
  /** The disk layout to apply, or null: keep the disks as they are (the client then needs a target directory). */
  disk: PlanDisk | null
  /** Direct (secret) overrides: fetched over the API with `ticket`, never through the swarm; applied after `overrides`. */
  direct?: DirectArtifact[]
  /** The install ticket (bearer token) for the direct overrides; present when `direct` is. */
  ticket?: string
  /**
   * One-time enrol token (docs/agent.md, "Enrolment"): bound to this node and address; the install
   * registers the node's new public key with it once. Present when the server keeps a fleet database.
   */
  enrolToken?: string
}

/** A direct override (docs/secrets.md): no torrent, no info hash; its bytes come only from the API. */
export interface DirectArtifact {
  name: string
  version: string
  size: number
  sha256: string
  compression: 'none' | 'zstd'
  /** Server-relative URLs; each needs `Authorization: Bearer <ticket>`. */
  manifest: string
  signature: string
  archive: string
}

export const DIRECT_ARTIFACT_KEYS = [
  'name',
  'version',
  'size',
  'sha256',
  'compression',
  'manifest',
  'signature',
  'archive',
]
const TICKET = /^[A-Za-z0-9_-]{43}$/
/** seeder/fleet/enrol-token.ts TOKEN_PATTERN. */
const ENROL_TOKEN = /^v1\.[A-Za-z0-9_-]{1,900}\.[A-Za-z0-9_-]{43}$/

const PLAN_KEYS = ['apiVersion', 'node', 'image', 'overrides', 'post', 'disk']
const NODE_KEYS = ['hostname', 'mac', 'ip']
/** Every field of a plan artifact; shared with the server's JSON schema. */
export const PLAN_ARTIFACT_KEYS = [
  'name',
  'version',
  'infoHash',
  'torrent',
  'manifest',
  'signature',
  'webseed',
  'size',
  'sha256',
  'compression',
  'index',
]
const URL_KEYS = ['torrent', 'manifest', 'signature', 'webseed'] as const
/** Far more than any real plan; bounds the work a hostile plan can cause. */
const MAX_OVERRIDES = 64
// Characters that names, versions and the fixed route words can produce;
// no %, so no percent-encoded dot segments or slashes can slip through.
const URL_PATH = /^\/(api\/v1|webseed)\/[A-Za-z0-9._+@/-]{1,512}$/
const HEX40 = /^[0-9a-f]{40}$/
const HEX64 = /^[0-9a-f]{64}$/
// Identity fields are echoed into logs and events: printable ASCII only.
const IDENTITY = /^[\x21-\x7e]{1,253}$/

function fail(field: string, detail: string): never {
  throw errors.planInvalid(field, detail)
}

function object(v: unknown, field: string, keys: string[]): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(field, 'must be a JSON object')
  const o = v as Record<string, unknown>
  for (const k of Object.keys(o)) if (!keys.includes(k)) fail(field === 'plan' ? k : `${field}.${k}`, 'unknown field')
  for (const k of keys) if (!Object.hasOwn(o, k)) fail(field === 'plan' ? k : `${field}.${k}`, 'missing')
  return o
}

/** A server-relative path under /api/v1/ or /webseed/, without dot segments or empty segments. */
export function checkPlanPath(v: unknown, field: string): string {
  if (typeof v !== 'string' || !URL_PATH.test(v)) {
    fail(field, 'must be a server-relative path under /api/v1/ or /webseed/ (letters, digits, . _ + @ - /)')
  }
  const segments = v.split('/').slice(1)
  if (segments.some((s) => s === '' || s === '.' || s === '..')) fail(field, 'must not hold ., .. or empty segments')
  return v
}

function str(o: Record<string, unknown>, k: string, field: string, re: RegExp, rule: string): string {
  const v = o[k]
  if (typeof v !== 'string' || !re.test(v)) fail(`${field}.${k}`, rule)
  return v
}

function artifact(v: unknown, field: string): PlanArtifact {
  const o = object(v, field, PLAN_ARTIFACT_KEYS)
  for (const k of ['name', 'version'] as const) {
    if (typeof o[k] !== 'string') fail(`${field}.${k}`, 'must be a string')
    try {
      checkName(k, o[k] as string)
    } catch (e) {
      fail(`${field}.${k}`, (e as Error).message)
    }
  }
  str(o, 'infoHash', field, HEX40, 'must be 40 lowercase hex digits')
  str(o, 'sha256', field, HEX64, 'must be 64 lowercase hex digits')
  for (const k of URL_KEYS) checkPlanPath(o[k], `${field}.${k}`)
  if (typeof o.size !== 'number' || !Number.isSafeInteger(o.size) || o.size < 0) {
    fail(`${field}.size`, 'must be a non-negative safe integer')
  }
  if (o.compression !== 'none' && o.compression !== 'zstd') fail(`${field}.compression`, 'must be "none" or "zstd"')
  if (o.index !== null) {
    checkPlanPath(o.index, `${field}.index`)
    if (o.compression !== 'none') fail(`${field}.index`, 'must be null for a compressed archive')
  }
  return o as unknown as PlanArtifact
}

/** A Layout in the JSON form of docs/disk-layout.md, optional keys left out when empty. */
export function planDiskOf(layout: Layout): PlanDisk {
  return {
    table: layout.table,
    partition: layout.partitions.map((p) => ({
      label: p.label,
      size: formatSize(p.size),
      fs: p.fs,
      ...(p.mount === undefined ? {} : { mount: p.mount }),
      ...(p.flags.length === 0 ? {} : { flags: [...p.flags] }),
      ...(p.mkfsOptions.length === 0 ? {} : { mkfs_options: [...p.mkfsOptions] }),
    })),
  }
}

/** A plan's disk as a Layout, by the same rules as a layout file (validatePlan already ran them). */
export function planLayout(disk: PlanDisk): Layout {
  return parseLayout(JSON.stringify(disk), 'in the install plan')
}

function disk(v: unknown): PlanDisk {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail('disk', 'must be null or a disk layout object')
  try {
    return planDiskOf(planLayout(v as PlanDisk))
  } catch (e) {
    if (isImgswarmError(e)) fail('disk', e.message)
    throw e
  }
}

/**
 * Checks parsed plan JSON strictly: every field present, no unknown field,
 * names by the name rule, hashes and sizes well formed, URLs server-relative.
 * Throws IMGSWARM_ERR_PLAN_INVALID naming the field. Returns a fresh copy,
 * so nothing else hanging off the parsed JSON survives.
 */
export function validatePlan(json: unknown): InstallPlan {
  const { enrolToken, ...withoutEnrol } =
    typeof json === 'object' && json !== null && !Array.isArray(json)
      ? (json as Record<string, unknown>)
      : { enrolToken: undefined }
  if (enrolToken !== undefined && (typeof enrolToken !== 'string' || !ENROL_TOKEN.test(enrolToken))) {
    fail('enrolToken', 'must be v1.CLAIMS.MAC in base64url (at most 1024 characters)')
  }
  const { direct, ticket, rest } = splitDirect(
    typeof json === 'object' && json !== null && !Array.isArray(json) ? withoutEnrol : json,
  )
  const o = object(rest, 'plan', PLAN_KEYS)
  if (o.apiVersion !== PLAN_API_VERSION) {
    fail('apiVersion', `is ${JSON.stringify(o.apiVersion)}, this client speaks ${PLAN_API_VERSION}`)
  }
  const n = object(o.node, 'node', NODE_KEYS)
  for (const k of NODE_KEYS) {
    const v = n[k]
    if (v !== null && (typeof v !== 'string' || !IDENTITY.test(v))) {
      fail(`node.${k}`, 'must be null or 1-253 printable characters')
    }
  }
  const image = artifact(o.image, 'image')
  if (!Array.isArray(o.overrides)) fail('overrides', 'must be an array')
  if (o.overrides.length > MAX_OVERRIDES) fail('overrides', `more than ${MAX_OVERRIDES} overrides`)
  const overrides = o.overrides.map((a, i) => artifact(a, `overrides[${i}]`))
  if (typeof o.post !== 'string' || !(POST_ACTIONS as readonly string[]).includes(o.post)) {
    fail('post', `must be one of ${POST_ACTIONS.join(', ')}`)
  }
  const copy = (a: PlanArtifact): PlanArtifact => ({ ...a })
  return {
    apiVersion: PLAN_API_VERSION,
    node: { hostname: n.hostname as string | null, mac: n.mac as string | null, ip: n.ip as string | null },
    image: copy(image),
    overrides: overrides.map(copy),
    post: o.post as PostAction,
    // A fresh, canonical copy: only what the layout rules read survives.
    disk: o.disk === null ? null : disk(o.disk),
    ...(direct === undefined ? {} : { direct, ticket: ticket as string }),
    ...(enrolToken === undefined ? {} : { enrolToken: enrolToken as string }),
  }
}

/** The optional direct-override fields, checked; the rest of the plan goes through the strict key check. */
function splitDirect(json: unknown): { direct?: DirectArtifact[]; ticket?: string; rest: unknown } {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return { rest: json }
  const { direct, ticket, ...rest } = json as Record<string, unknown>
  if (direct === undefined && ticket === undefined) return { rest: json }
  if (!Array.isArray(direct)) fail('direct', 'must be an array')
  if (direct.length === 0 || direct.length > MAX_OVERRIDES) fail('direct', `must hold 1 to ${MAX_OVERRIDES} overrides`)
  if (typeof ticket !== 'string' || !TICKET.test(ticket)) fail('ticket', 'must be 43 base64url characters')
  const list = direct.map((v, i): DirectArtifact => {
    const field = `direct[${i}]`
    const a = object(v, field, DIRECT_ARTIFACT_KEYS)
    for (const k of ['name', 'version'] as const) {
      if (typeof a[k] !== 'string') fail(`${field}.${k}`, 'must be a string')
      try {
        checkName(k, a[k] as string)
      } catch (e) {
        fail(`${field}.${k}`, (e as Error).message)
      }
    }
    str(a, 'sha256', field, HEX64, 'must be 64 lowercase hex digits')
    if (typeof a.size !== 'number' || !Number.isSafeInteger(a.size) || a.size < 0) {
      fail(`${field}.size`, 'must be a non-negative safe integer')
    }
    if (a.compression !== 'none' && a.compression !== 'zstd') fail(`${field}.compression`, 'must be "none" or "zstd"')
    for (const k of ['manifest', 'signature', 'archive'] as const) checkPlanPath(a[k], `${field}.${k}`)
    return {
      name: a.name as string,
      version: a.version as string,
      size: a.size,
      sha256: a.sha256 as string,
      compression: a.compression,
      manifest: a.manifest as string,
      signature: a.signature as string,
      archive: a.archive as string,
    }
  })
  return { direct: list, ticket, rest }
}
