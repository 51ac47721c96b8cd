// The delta archive's format, shared by the server that builds it
// (seeder/update) and the agent that applies it (client/agent); docs/node-update.md.

/** The top-level folder of a delta archive that holds its description; a name image trees may not use. */
export const DELTA_DIR = '.imgswarm-delta'
export const DELTA_FILE = `${DELTA_DIR}/delta.json`
export const DELTA_SCHEMA = 'imgswarm/delta@1'

/** A path whose content is unchanged but whose owner, mode or time differ. */
export interface MetaChange {
  /** Relative path, latin1 (byte-for-byte) as in delta.json. */
  path: string
  mode: number
  uid: number
  gid: number
  mtimeMs: number
}

/** delta.json. */
export interface DeltaDoc {
  schema: typeof DELTA_SCHEMA
  image: string
  from: string
  to: string
  added: number
  changed: number
  /** Paths (latin1 strings, relative, no leading `/`) to remove, deepest first. */
  deleted: string[]
  meta: MetaChange[]
  /** Regular-file bytes carried. */
  bytes: number
  /** Entries carried (without their parent directories). */
  carried: number
}
