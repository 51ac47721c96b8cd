// The cluster config as loaded: what each layer (global, group, host) says,
// and where in the file it says it. docs/cluster-config.md is the contract.
import type { PlanDisk, PostAction } from '../plans/types.ts'
import type { HostPattern } from './range.ts'

/** A problem in the file, pointing at the key a person must change. */
export interface Diagnostic {
  file: string
  line: number
  col: number
  message: string
}

/** Where a setting came from, for `cluster show` and plan origins. */
export interface Source {
  kind: 'global' | 'group' | 'host' | 'default'
  /** The group name or host label; empty for global and default. */
  name: string
  /** 1-based line of the key; 0 for defaults. */
  line: number
}

export interface Setting<T> {
  value: T
  from: Source
}

export interface LayoutSetting {
  /** As written in the file. */
  path: string
  disk: PlanDisk
}

/** What one layer sets; undefined: it leaves that setting to the layers below. */
export interface Layer {
  image: Setting<string> | undefined
  overrides: Setting<string>[]
  post: Setting<PostAction> | undefined
  layout: Setting<LayoutSetting> | undefined
}

export interface GroupDef extends Layer {
  name: string
  priority: number
  /** 0-based position among the groups in the file: breaks priority ties. */
  order: number
  autoEnrol: boolean
  hosts: HostPattern[]
  macs: string[]
  line: number
}

export interface HostDef extends Layer {
  hostname: string | undefined
  mac: string | undefined
  ip: string | undefined
  /** Groups the host joins by name (besides those whose members list it). */
  groups: string[]
  line: number
  /** hostname, else mac, else ip: how messages name it. */
  label: string
}

export interface ClusterConfig {
  file: string
  global: Layer
  /** In file order. */
  groups: GroupDef[]
  hosts: HostDef[]
}

/** A node's plan with where each part came from. */
export interface ResolvedNode {
  node: { hostname: string | null; mac: string | null; ip: string | null }
  /** Its groups, lowest precedence first (the order overrides stack in). */
  groups: GroupDef[]
  host: HostDef | undefined
  image: Setting<string> | undefined
  overrides: Setting<string>[]
  post: Setting<PostAction>
  layout: Setting<LayoutSetting> | undefined
}
