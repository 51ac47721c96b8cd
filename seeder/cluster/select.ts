// Which plan source `serve` uses: the cluster config when it is configured
// or present, else plans.toml as before. docs/configuration.md#plans.
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import type { Logger } from '../../common/log.ts'
import { filePlanSource } from '../plans/source.ts'
import type { PlanSource } from '../plans/types.ts'
import { clusterPlanSource } from './source.ts'

export const CLUSTER_FILE = 'cluster.toml'

export interface PlanSourceChoice {
  storeRoot: string
  /** serve.cluster / --cluster: explicit, wins over everything. */
  clusterFile?: string | undefined
  /** serve.plans / --plans: explicit plans.toml, wins over STORE/cluster.toml. */
  plansFile?: string | undefined
  logger?: Logger | undefined
  watch?: boolean
}

/** The cluster file a command should use: --file, then serve.cluster, then STORE/cluster.toml. */
export function clusterFileFor(storeRoot: string, configured?: string): string {
  return configured ?? join(storeRoot, CLUSTER_FILE)
}

export function choosePlanFile(c: PlanSourceChoice): { kind: 'cluster' | 'plans'; file: string } {
  if (c.clusterFile !== undefined) return { kind: 'cluster', file: c.clusterFile }
  if (c.plansFile !== undefined) return { kind: 'plans', file: c.plansFile }
  const cluster = join(c.storeRoot, CLUSTER_FILE)
  if (existsSync(cluster)) return { kind: 'cluster', file: cluster }
  return { kind: 'plans', file: join(c.storeRoot, 'plans.toml') }
}

export async function openPlanSource(c: PlanSourceChoice): Promise<PlanSource> {
  const choice = choosePlanFile(c)
  if (choice.kind === 'plans') return filePlanSource(choice.file)
  if (!existsSync(choice.file)) {
    c.logger?.warn({ file: choice.file }, 'the cluster config does not exist yet: no node has a plan until it does')
  }
  c.logger?.info({ file: choice.file }, 'install plans from the cluster config')
  const plans = c.plansFile ?? join(c.storeRoot, 'plans.toml')
  if (existsSync(plans)) c.logger?.warn({ file: plans }, 'plans.toml is not read while a cluster config is in use')
  return clusterPlanSource({ file: choice.file, logger: c.logger, ...(c.watch === false ? { watch: false } : {}) })
}
