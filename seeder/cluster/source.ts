// A PlanSource backed by cluster.toml. A missing file means "no plans yet";
// a broken one fails the start, and on reload (by hand or because the file
// changed) the config in force stays, with every problem logged.
import { type FSWatcher, watch } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { basename, dirname } from 'node:path'
import { errors } from '../../common/errors.ts'
import type { Logger } from '../../common/log.ts'
import { parseRef } from '../../common/names.ts'
import type { PlanQuery, PlanRef, PlanSource, PlanSpec } from '../plans/types.ts'
import { type LayoutReader, parseCluster } from './parse.ts'
import { ClusterIndex } from './resolve.ts'
import type { ClusterConfig, ResolvedNode } from './types.ts'

export interface ClusterSourceInit {
  file: string
  logger?: Logger | undefined
  /** Reload when the file changes (default true). */
  watch?: boolean
  /** Quiet time after the last change before reloading (default 250 ms): editors write in bursts. */
  debounceMs?: number
  readLayout?: LayoutReader
}

export interface ClusterPlanSource extends PlanSource {
  readonly index: ClusterIndex
  /** Counts successful loads (the first one included); tests and logs use it. */
  readonly generation: number
  reload(): Promise<void>
  close(): void
}

const empty = (file: string): ClusterConfig => ({
  file,
  global: { image: undefined, overrides: [], post: undefined, layout: undefined },
  groups: [],
  hosts: [],
})

/** Reads and checks the file; throws IMGSWARM_ERR_CONFIG listing every problem with its line. */
export async function loadCluster(file: string, readLayout?: LayoutReader): Promise<ClusterConfig> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return empty(file)
    throw errors.config(file, `cannot read it (${(e as NodeJS.ErrnoException).code ?? String(e)})`)
  }
  const r = parseCluster(text, file, readLayout)
  if (!r.config) throw errors.clusterInvalid(file, r.diagnostics)
  return r.config
}

/** Where a plan came from: the file and line of the host entry, else of its highest-priority group. */
function originOf(file: string, r: ResolvedNode): string {
  const top = r.groups.at(-1)
  const line = r.host?.line ?? top?.line ?? 0
  const parts: string[] = []
  if (r.host) parts.push(`host ${r.host.label}`)
  if (r.groups.length > 0) parts.push(`groups ${r.groups.map((g) => g.name).join(' < ')}`)
  return `${file}:${line} (${parts.join('; ')})`
}

export function specOf(file: string, r: ResolvedNode): PlanSpec | undefined {
  if (!r.image) return undefined
  return {
    node: r.node,
    image: r.image.value,
    overrides: r.overrides.map((o) => o.value),
    post: r.post.value,
    disk: r.layout?.value.disk ?? null,
    origin: originOf(file, r),
  }
}

export async function clusterPlanSource(init: ClusterSourceInit): Promise<ClusterPlanSource> {
  const { file, logger } = init
  let index = new ClusterIndex(await loadCluster(file, init.readLayout))
  let generation = 1
  let running: Promise<void> | undefined
  let again = false
  let timer: NodeJS.Timeout | undefined
  let watcher: FSWatcher | undefined
  let closed = false

  const reloadOnce = async () => {
    index = new ClusterIndex(await loadCluster(file, init.readLayout))
    generation++
  }
  // One reload at a time; a change during a reload gets one more after it.
  const reload = (): Promise<void> => {
    if (running) {
      again = true
      return running
    }
    running = (async () => {
      try {
        do {
          again = false
          await reloadOnce()
        } while (again)
      } finally {
        running = undefined
      }
    })()
    return running
  }

  if (init.watch !== false) {
    const name = basename(file)
    try {
      // The directory, not the file: editors and `cluster edit` replace the file by renaming over it.
      watcher = watch(dirname(file), { persistent: false }, (_event, changed) => {
        if (closed || (changed !== null && changed !== name)) return
        clearTimeout(timer)
        timer = setTimeout(() => {
          reload().then(
            () => logger?.info({ file, generation }, 'cluster config reloaded'),
            (e) =>
              logger?.error(
                { file, err: e },
                `cluster config not reloaded, the previous one stays: ${(e as Error).message}`,
              ),
          )
        }, init.debounceMs ?? 250)
        timer.unref()
      })
      watcher.on('error', (e) =>
        logger?.warn({ file, err: e }, 'watching the cluster config failed; use POST /api/v1/plans/reload'),
      )
    } catch (e) {
      logger?.warn({ file, err: e }, 'cannot watch the cluster config; changes need POST /api/v1/plans/reload')
    }
  }

  return {
    get index() {
      return index
    },
    get generation() {
      return generation
    },
    origin: file,
    unknownNodeHint: `add it to ${file} (a [[host]] entry, or a group's hosts or macs) or adopt it into a group; the server rereads the file when it changes`,
    planFor(q: PlanQuery): PlanSpec | undefined {
      const r = index.resolve(q)
      return r && specOf(file, r)
    },
    references(): PlanRef[] {
      const refs: PlanRef[] = []
      const add = (kind: 'image' | 'override', ref: string) => {
        const r = parseRef(ref, kind)
        if (!refs.some((x) => x.kind === kind && x.name === r.name && x.version === r.version)) {
          refs.push({ kind, name: r.name, version: r.version })
        }
      }
      const cfg = index.config
      for (const l of [cfg.global, ...cfg.groups, ...cfg.hosts]) {
        if (l.image) add('image', l.image.value)
        for (const o of l.overrides) add('override', o.value)
      }
      return refs
    },
    reload,
    autoEnrolGroup: (q) => index.autoEnrolGroup(q),
    groupNames: () => index.config.groups.map((g) => g.name),
    members: (group) => index.members(group),
    groupsOf: (q) => {
      const { id, host } = index.identify(q)
      return index.groupsOf(id, host, q.groups).map((g) => g.name)
    },
    close() {
      closed = true
      clearTimeout(timer)
      watcher?.close()
    },
  }
}
