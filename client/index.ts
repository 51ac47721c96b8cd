// The install client's public surface so far: configuration, and fetching
// and verifying the install plan. Disks, swarm and post-actions come later.
export {
  type ClientConfig,
  type ClientConfigSources,
  type ClientFlags,
  DEFAULT_MAX_DELAY_MS,
  loadPubkey,
  type RetryConfig,
  resolveClientConfig,
} from './config/index.ts'
export {
  backoffMs,
  type FetchPlanInit,
  fetchVerifiedPlan,
  PLAN_LIMIT,
  type VerifiedArtifact,
  type VerifiedPlan,
} from './plan/index.ts'
