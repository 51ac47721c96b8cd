// The agent's jobs: `update` (download a delta over the swarm, verify it,
// apply it) and `push-overrides` (download the node's overrides, extract them
// over the running system). Both verify everything with the pinned key first.
import { createReadStream } from 'node:fs'
import { mkdir, readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { extractArchive, openArchive, sanitizeEntryPath } from '../../common/archive/index.ts'
import { errors } from '../../common/errors.ts'
import { formatBytes } from '../../common/progress.ts'
import { targetDirectory } from '../identity/index.ts'
import { checkSha, download, installOverride, removeWorkDir, type SwarmInit, sha256Of } from '../install/artifact.ts'
import type { SwarmSession } from '../swarm/engine/index.ts'
import { applyDelta, DELTA_DIR, type DeltaDoc } from './apply.ts'
import { type AgentConfig, EXCLUDE_FILE, saveAgentFile, WORK } from './config.ts'
import { BUILTIN_EXCLUDES, compileExcludes, parseExcludeFile } from './exclude.ts'
import { checkArtifact, verifyArtifact } from './verify.ts'

export interface JobContext {
  cfg: AgentConfig
  say: (line: string) => void
  warn: (line: string) => void
  signal?: AbortSignal | undefined
  /** Longest time to keep seeding a downloaded archive to other nodes, ms. */
  seedMs: number
  port?: number | undefined
}

export interface Job {
  id: number
  kind: string
  params: Record<string, unknown>
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$/

function swarmInit(c: JobContext): SwarmInit {
  return { port: c.port, signal: c.signal, say: c.say, warn: c.warn, onProgress: () => {} }
}

function relOk(v: unknown, where: string): string {
  if (typeof v !== 'string' || v.length === 0 || v.startsWith('/'))
    throw errors.deltaInvalid(where, 'a path must be relative')
  const parts = sanitizeEntryPath(Buffer.from(v, 'latin1'))
  if (parts.length === 0 || parts.map((x) => x.toString('latin1')).join('/') !== v) {
    throw errors.deltaInvalid(where, `path ${JSON.stringify(v.slice(0, 200))} is not in normal form`)
  }
  return v
}

/** delta.json from the verified archive, checked against the job before a byte of it is applied. */
export function checkDoc(v: unknown, image: string, from: string, to: string): DeltaDoc {
  const where = `${DELTA_DIR}/delta.json`
  const bad = (d: string) => errors.deltaInvalid(where, d)
  if (typeof v !== 'object' || v === null) throw bad('not an object')
  const d = v as Record<string, unknown>
  if (d.schema !== 'imgswarm/delta@1') throw bad('unknown schema')
  if (d.image !== image || d.from !== from || d.to !== to) {
    throw bad(
      `it joins ${String(d.image)}@${String(d.from)} to ${String(d.to)}, the job asks for ${image}@${from} to ${to}`,
    )
  }
  if (!Array.isArray(d.deleted) || !Array.isArray(d.meta)) throw bad('deleted and meta must be lists')
  for (const p of d.deleted) relOk(p, where)
  for (const m of d.meta as unknown[]) {
    const x = m as Record<string, unknown>
    relOk(x?.path, where)
    for (const k of ['mode', 'uid', 'gid', 'mtimeMs']) {
      if (typeof x[k] !== 'number' || !Number.isSafeInteger(x[k]) || (x[k] as number) < 0) throw bad(`meta ${k}`)
    }
  }
  return v as DeltaDoc
}

async function excludesOf(root: string) {
  const file = join(root, EXCLUDE_FILE)
  const text = await readFile(file, 'utf8').catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return ''
    throw e
  })
  return compileExcludes([...BUILTIN_EXCLUDES, ...parseExcludeFile(text, EXCLUDE_FILE)])
}

async function seedAndClose(c: JobContext, sessions: SwarmSession[]) {
  try {
    if (c.seedMs > 0)
      await Promise.all(
        sessions.map((s) => s.seedWhileNeeded({ maxMs: c.seedMs, ...(c.signal ? { signal: c.signal } : {}) })),
      )
  } finally {
    await Promise.all(sessions.map((s) => s.destroy().catch(() => undefined)))
  }
}

export async function runUpdate(c: JobContext, job: Job): Promise<Record<string, unknown>> {
  const { cfg } = c
  const p = job.params
  const [image, from, to] = [p.image, p.from, p.to]
  if (
    typeof image !== 'string' ||
    typeof from !== 'string' ||
    typeof to !== 'string' ||
    ![image, from, to].every((s) => NAME.test(s))
  ) {
    throw errors.deltaInvalid(`job ${job.id}`, 'image, from and to must be names')
  }
  if (cfg.file.image !== `${image}@${from}`) {
    throw errors.deltaInvalid(`job ${job.id}`, `this node runs ${cfg.file.image}, the delta starts at ${image}@${from}`)
  }
  const va = await verifyArtifact(cfg, checkArtifact(p.delta, `job ${job.id} delta`), 'delta', c.signal)
  c.say(`update ${image}@${from} -> ${to}: delta ${formatBytes(va.artifact.size)}, manifest and torrent verified`)
  const ex = await excludesOf(cfg.root)
  const work = join(await targetDirectory(cfg.root, WORK), `job-${job.id}`)
  await rm(work, { recursive: true, force: true })
  await mkdir(join(work, 'download'), { recursive: true, mode: 0o700 })
  await mkdir(join(work, 'tree'), { mode: 0o700 })
  let session: SwarmSession | undefined
  try {
    session = await download(va, { path: join(work, 'download') }, swarmInit(c))
    const file = join(work, 'download', va.torrentInfo.name)
    checkSha(va, await sha256Of(createReadStream(file, { highWaterMark: 1 << 20 })), file)
    await extractArchive(openArchive(file, c.signal ? { signal: c.signal } : {}), join(work, 'tree'), {
      ...(c.signal ? { signal: c.signal } : {}),
      onWarning: c.warn,
    })
    const docText = await readFile(join(work, 'tree', DELTA_DIR, 'delta.json'), 'utf8').catch(() => {
      throw errors.deltaInvalid(file, `the archive has no ${DELTA_DIR}/delta.json`)
    })
    let docJson: unknown
    try {
      docJson = JSON.parse(docText)
    } catch {
      throw errors.deltaInvalid(file, 'delta.json is not JSON')
    }
    const doc = checkDoc(docJson, image, from, to)
    const applied = await applyDelta(cfg.root, join(work, 'tree'), doc, ex)
    cfg.file.image = `${image}@${to}`
    await saveAgentFile(cfg.root, cfg.file)
    const st = session.stats()
    c.say(
      `update applied: ${applied.written} written, ${applied.dirs} directories, ${applied.deleted} deleted, ` +
        `${applied.meta} metadata, ${applied.excluded} excluded; ${formatBytes(st.bytesDown)} moved`,
    )
    await seedAndClose(c, [session])
    session = undefined
    return {
      ...applied,
      image: cfg.file.image,
      archiveSize: va.artifact.size,
      bytesDown: st.bytesDown,
      bytesFromPeers: st.bytesFromPeers,
      bytesFromWebseed: st.bytesFromWebseed,
    }
  } finally {
    await session?.destroy().catch(() => undefined)
    await rm(work, { recursive: true, force: true })
  }
}

export async function runPushOverrides(c: JobContext, job: Job): Promise<Record<string, unknown>> {
  const list = job.params.overrides
  if (!Array.isArray(list) || list.length > 256) throw errors.deltaInvalid(`job ${job.id}`, 'overrides must be a list')
  const verified = []
  for (const [i, a] of list.entries()) {
    verified.push(await verifyArtifact(c.cfg, checkArtifact(a, `job ${job.id} override ${i}`), 'override', c.signal))
  }
  const sessions: SwarmSession[] = []
  try {
    for (const va of verified) {
      const got = await installOverride(va, c.cfg.root, swarmInit(c))
      sessions.push(got.session)
      c.say(`override ${va.artifact.name}@${va.artifact.version} applied`)
    }
    const bytesDown = sessions.reduce((s, x) => s + x.stats().bytesDown, 0)
    await seedAndClose(c, sessions.splice(0))
    return { overrides: verified.map((v) => `${v.artifact.name}@${v.artifact.version}`), bytesDown }
  } finally {
    await Promise.all(sessions.map((s) => s.destroy().catch(() => undefined)))
    await removeWorkDir(c.cfg.root).catch(() => undefined)
  }
}
