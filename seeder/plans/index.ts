// Install plans: which image, overrides and post-action a node gets.
export { normalizeHostname, normalizeIp, normalizeMac, parsePlansToml } from './config.ts'
export { type ArtifactLookup, artifact, artifactUrls, resolvePlan, resolveRef } from './resolve.ts'
export { configPlanSource, filePlanSource } from './source.ts'
export {
  type InstallPlan,
  installPlanSchema,
  type NodeIdentity,
  PLAN_API_VERSION,
  type PlanArtifact,
  type PlanQuery,
  type PlanRef,
  type PlanSource,
  type PlanSpec,
  POST_ACTIONS,
  type PostAction,
} from './types.ts'
