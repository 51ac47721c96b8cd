// The install plan (API v1) and what a plan source hands the API before the
// store fills in hashes and sizes. The plan JSON is a contract with the boot
// client: change it only by bumping apiVersion.
// InstallPlan and its parts live in common/plan.ts (the client reads them
// too and must not import seeder/); re-exported so importers keep working.

import { FLAGS, FS_TYPES, TABLES } from '../../common/layout/index.ts'
import {
  type NodeIdentity,
  PLAN_API_VERSION,
  PLAN_ARTIFACT_KEYS,
  type PlanDisk,
  POST_ACTIONS,
  type PostAction,
} from '../../common/plan.ts'
import type { Kind } from '../store/store.ts'

export {
  type InstallPlan,
  type NodeIdentity,
  PLAN_API_VERSION,
  type PlanArtifact,
  type PlanDisk,
  POST_ACTIONS,
  type PostAction,
} from '../../common/plan.ts'

/** A plan as configured: refs not yet resolved against the store. */
export interface PlanSpec {
  node: NodeIdentity
  /** `NAME` (latest packed version at request time) or `NAME@VER`. */
  image: string
  overrides: string[]
  post: PostAction
  /** The node's disk layout (plans.toml `layout = "FILE"`, already validated), or null. */
  disk: PlanDisk | null
  /** Where the plan came from, for messages: `plans.toml [[node]] #2`. */
  origin: string
}

/** An image or override version some plan points to (version undefined: the latest packed one). */
export interface PlanRef {
  kind: Kind
  name: string
  version: string | undefined
}

export interface PlanQuery {
  mac?: string | undefined
  hostname?: string | undefined
  ip?: string | undefined
  /** Groups the node was adopted into in the fleet database: extra membership for a cluster config (others ignore it). */
  groups?: readonly string[] | undefined
}

export interface PlanSource {
  /** The configured plan of a node, matched by MAC, then hostname, then IP; undefined when none matches. */
  planFor(q: PlanQuery): PlanSpec | undefined
  /**
   * Every image and override ref the plans name ([defaults] included): what
   * nodes may download, and what cannot be removed.
   */
  references(): PlanRef[]
  /** Re-reads the configuration; on error the previous plans stay in force. */
  reload?(): Promise<void>
  /** Where plans come from (a file path), for hints. */
  readonly origin?: string
  /** What to tell an operator when no plan matches a node (how to add one). */
  readonly unknownNodeHint?: string
  /** Cluster config: the group an unknown node may auto-enrol into, if any. */
  autoEnrolGroup?(q: PlanQuery): string | undefined
  /** Cluster config: the group names, in file order. */
  groupNames?(): string[]
  /** Cluster config: a group's members as the file lists them (host names, MACs); undefined for an unknown group. */
  members?(group: string): string[] | undefined
  /** Cluster config: the groups a node is in, lowest precedence first. */
  groupsOf?(q: PlanQuery): string[]
  /** Stops watching the configuration (if it does); idempotent. */
  close?(): void
  /** Names of overrides marked direct (docs/secrets.md): never seeded, never in the tracker's allow-list. */
  directOverrides?(): ReadonlySet<string>
}

const NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$'

const artifactSchema = {
  type: 'object',
  additionalProperties: false,
  required: [...PLAN_ARTIFACT_KEYS],
  properties: {
    name: { type: 'string', pattern: NAME_PATTERN },
    version: { type: 'string', pattern: NAME_PATTERN },
    infoHash: { type: 'string', pattern: '^[0-9a-f]{40}$', description: 'BitTorrent v1 info hash (hex)' },
    torrent: { type: 'string', description: 'server-relative URL of the .torrent' },
    manifest: { type: 'string', description: 'server-relative URL of the manifest (signed bytes)' },
    signature: { type: 'string', description: 'server-relative URL of the manifest signature' },
    webseed: { type: 'string', description: 'server-relative URL of the archive (BEP 19 web seed)' },
    size: { type: 'integer', minimum: 0, description: 'archive size in bytes' },
    sha256: { type: 'string', pattern: '^[0-9a-f]{64}$', description: 'SHA-256 of the archive' },
    compression: { type: 'string', enum: ['none', 'zstd'] },
    index: {
      type: ['string', 'null'],
      description: 'server-relative URL of the archive index (uncompressed archives only), or null',
    },
  },
} as const

/** The JSON form of a disk layout (docs/disk-layout.md); the client re-checks it with the layout rules. */
const diskSchema = {
  type: ['object', 'null'],
  additionalProperties: false,
  required: ['table', 'partition'],
  description: 'the disk layout to apply (docs/disk-layout.md, JSON form), or null',
  properties: {
    table: { type: 'string', enum: [...TABLES] },
    partition: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['label', 'size', 'fs'],
        properties: {
          label: { type: 'string' },
          size: { type: 'string', description: '"512MiB", "20GiB", "5%" or "grow"' },
          fs: { type: 'string', enum: [...FS_TYPES] },
          mount: { type: 'string' },
          flags: { type: 'array', items: { type: 'string', enum: [...FLAGS] } },
          mkfs_options: { type: 'array', items: { type: 'string' } },
        },
      },
    },
  },
} as const

const nullableString = { anyOf: [{ type: 'string' }, { type: 'null' }] } as const

/** JSON schema of InstallPlan v1 (also the API's response schema). */
export const installPlanSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['apiVersion', 'node', 'image', 'overrides', 'post', 'disk'],
  properties: {
    apiVersion: { type: 'integer', const: PLAN_API_VERSION },
    node: {
      type: 'object',
      additionalProperties: false,
      required: ['hostname', 'mac', 'ip'],
      properties: { hostname: nullableString, mac: nullableString, ip: nullableString },
    },
    image: artifactSchema,
    overrides: { type: 'array', items: artifactSchema },
    post: { type: 'string', enum: [...POST_ACTIONS] },
    disk: diskSchema,
    direct: {
      type: 'array',
      description: 'direct (secret) overrides, fetched with the ticket over the API only (docs/secrets.md)',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'version', 'size', 'sha256', 'compression', 'manifest', 'signature', 'archive'],
        properties: {
          name: { type: 'string', pattern: NAME_PATTERN },
          version: { type: 'string', pattern: NAME_PATTERN },
          size: { type: 'integer', minimum: 0 },
          sha256: { type: 'string', pattern: '^[0-9a-f]{64}$' },
          compression: { type: 'string', enum: ['none', 'zstd'] },
          manifest: { type: 'string' },
          signature: { type: 'string' },
          archive: { type: 'string' },
        },
      },
    },
    ticket: { type: 'string', description: 'install ticket: the bearer token for the direct overrides' },
    enrolToken: {
      type: 'string',
      description: 'one-time token the install enrols the node credential with (docs/agent.md)',
    },
  },
} as const
