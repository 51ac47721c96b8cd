// The cluster config: one TOML file of groups, host ranges and hosts that
// says what every node installs (docs/cluster-config.md). Parsing with
// line-numbered diagnostics, range expansion, resolution with provenance,
// and the PlanSource that `serve` answers GET /api/v1/plan from.
export { CLUSTER_EXAMPLE } from './example.ts'
export { type LayoutReader, MAX_FILE_BYTES, type ParseResult, parseCluster } from './parse.ts'
export {
  compressHosts,
  expandHostPattern,
  expandHosts,
  type HostPattern,
  HostRangeError,
  isRange,
  MAX_RANGE_HOSTS,
  parseHostPattern,
} from './range.ts'
export { byPrecedence, ClusterIndex, type Identity, stackOverrides } from './resolve.ts'
export { CLUSTER_FILE, choosePlanFile, clusterFileFor, openPlanSource, type PlanSourceChoice } from './select.ts'
export { type ClusterPlanSource, type ClusterSourceInit, clusterPlanSource, loadCluster, specOf } from './source.ts'
export type {
  ClusterConfig,
  Diagnostic,
  GroupDef,
  HostDef,
  Layer,
  LayoutSetting,
  ResolvedNode,
  Setting,
  Source,
} from './types.ts'
