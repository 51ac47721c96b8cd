// A PlanSource backed by cluster.toml. A missing file means "no plans yet";
// a broken one fails the start, and on reload (by hand or because the file
// changed) the config in force stays, with every problem logged.
import { type FSWatcher, watch } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'
import { errors } from '../../common/errors.ts'
import type { Logger } from '../../common/log.ts'
import { parseRef } from '../../common/names.ts'
import type { PlanQuery, PlanRef, PlanSource, PlanSpec } from '../plans/types.ts'
import { type LayoutReader, parseCluster } from './parse.ts'
import { ClusterIndex } from './resolve.ts'
import type { ClusterConfig, Diagnostic, ResolvedNode } from './types.ts'

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
export async function loadCluster(
  file: string,
  readLayout?: LayoutReader,
  onWarnings?: (warnings: Diagnostic[]) => void,
): Promise<ClusterConfig> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return empty(file)
    throw errors.config(file, `cannot read it (${(e as NodeJS.ErrnoException).code ?? String(e)})`)
  }
  const r = parseCluster(text, file, readLayout)
  if (!r.config) throw errors.clusterInvalid(file, r.diagnostics)
  if (r.warnings.length > 0) onWarnings?.(r.warnings)
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
  const warn = (ws: Diagnostic[]) => {
    for (const w of ws) logger?.warn({ file }, `${w.file}:${w.line}:${w.col}: warning: ${w.message}`)
  }
  let index = new ClusterIndex(await loadCluster(file, init.readLayout, warn))
  let generation = 1
  let running: Promise<void> | undefined
  let again = false
  let timer: NodeJS.Timeout | undefined
  let closed = false

  const reloadOnce = async () => {
    index = new ClusterIndex(await loadCluster(file, init.readLayout, warn))
    generation++
    syncWatchers()
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

  // Watched: the cluster file and every layout file it names. Directories,
  // not files: editors and `cluster edit` replace a file by renaming over it.
  const watchers = new Map<string, FSWatcher>()
  let watched = new Set<string>()
  const onChange = () => {
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
  }
  const syncWatchers = () => {
    if (closed || init.watch === false) return
    const cfg = index.config
    const layouts = [cfg.global, ...cfg.groups, ...cfg.hosts].flatMap((l) => (l.layout ? [l.layout.value.path] : []))
    watched = new Set([resolve(file), ...layouts.map((p) => resolve(dirname(file), p))])
    const dirs = new Set([...watched].map((p) => dirname(p)))
    for (const [d, w] of watchers) {
      if (!dirs.has(d)) {
        w.close()
        watchers.delete(d)
      }
    }
    for (const d of dirs) {
      if (watchers.has(d)) continue
      try {
        const w = watch(d, { persistent: false }, (_event, changed) => {
          if (!closed && (changed === null || watched.has(join(d, changed)))) onChange()
        })
        w.on('error', (e) =>
          logger?.warn({ dir: d, err: e }, 'watching for cluster config changes failed; use POST /api/v1/plans/reload'),
        )
        watchers.set(d, w)
      } catch (e) {
        logger?.warn({ dir: d, err: e }, 'cannot watch for cluster config changes; they need POST /api/v1/plans/reload')
      }
    }
  }
  syncWatchers()

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
      for (const w of watchers.values()) w.close()
      watchers.clear()
    },
  }
}
