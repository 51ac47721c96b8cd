// Direct (secret) overrides, docs/secrets.md: the archive comes from the
// server's ticket route only (HTTPS when serve has TLS), never the swarm. It
// is streamed onto the target disk (never RAM) with its size capped at the
// signed size and its SHA-256 checked against the signed manifest, then
// extracted through the same safe-extraction rules as any override. The
// staged copy is removed with our work folder; nothing of it is seeded.
import { createHash } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { mkdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { errors } from '../../common/errors.ts'
import { formatBytes } from '../../common/progress.ts'
import { type VerifiedDirect, withBearer } from '../plan/index.ts'
import { extractStaged, type SwarmInit } from './artifact.ts'
import { WORK_DIR } from './destination.ts'

/** Attempts per archive; the server allows as many downloads per ticket (seeder/direct/tickets.ts). */
export const DIRECT_ATTEMPTS = 3
const ATTEMPT_TIMEOUT_MS = 10 * 60_000

export interface DirectInit extends Pick<SwarmInit, 'signal' | 'say' | 'warn'> {
  fetchImpl: typeof fetch
}

function ref(d: VerifiedDirect): string {
  return `${d.artifact.name}@${d.artifact.version}`
}

/** Streams the archive into `file`; throws IMGSWARM_ERR_DIRECT_FETCH on any status, size or digest problem. */
async function fetchArchive(d: VerifiedDirect, file: string, init: DirectInit): Promise<void> {
  const size = d.manifest.archive.size
  const signals = [AbortSignal.timeout(ATTEMPT_TIMEOUT_MS), ...(init.signal ? [init.signal] : [])]
  const res = await withBearer(init.fetchImpl, d.ticket)(d.archiveUrl, { signal: AbortSignal.any(signals) })
  if (res.status !== 200) {
    const text = (await res.text().catch(() => '')).slice(0, 300)
    let msg = text
    try {
      msg = (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? text
    } catch {}
    throw errors.directFetch(ref(d), `the server answered ${res.status}${msg ? `: ${msg}` : ''}`)
  }
  const declared = res.headers.get('content-length')
  if (declared !== null && Number(declared) !== size) {
    await res.body?.cancel().catch(() => undefined)
    throw errors.directFetch(ref(d), `the server declared ${declared} bytes, the signed manifest ${size}`)
  }
  const h = createHash('sha256')
  let got = 0
  async function* capped(body: AsyncIterable<Uint8Array>) {
    for await (const c of body) {
      got += c.length
      if (got > size) throw errors.directFetch(ref(d), `the server sent more than the signed ${size} bytes`)
      h.update(c)
      yield c
    }
  }
  if (!res.body) throw errors.directFetch(ref(d), 'the answer has no body')
  await pipeline(
    capped(res.body as unknown as AsyncIterable<Uint8Array>),
    createWriteStream(file, { mode: 0o600, flags: 'w' }),
  )
  if (got !== size) throw errors.directFetch(ref(d), `the body ended after ${got} of ${size} bytes`)
  const sha = h.digest('hex')
  if (sha !== d.manifest.archive.sha256) {
    throw errors.checksum(
      d.archiveUrl,
      `SHA-256 ${sha} does not match the signed manifest's ${d.manifest.archive.sha256}`,
    )
  }
}

/** Downloads, verifies and extracts one direct override into `target`. */
export async function installDirect(d: VerifiedDirect, target: string, init: DirectInit): Promise<void> {
  if (d.archiveUrl.startsWith('http://')) {
    init.warn(`direct override ${ref(d)} comes over plain HTTP: its contents cross the network in clear`)
  }
  const stage = join(target, WORK_DIR, 'direct')
  await mkdir(stage, { recursive: true, mode: 0o700 })
  const file = join(stage, `${d.artifact.name}@${d.artifact.version}.tar`)
  let last: unknown
  for (let n = 1; n <= DIRECT_ATTEMPTS; n++) {
    try {
      await fetchArchive(d, file, init)
      last = undefined
      break
    } catch (e) {
      last = e
      // A digest or size that does not match, or a refused ticket, is not fixed by asking again.
      const code = (e as { code?: string }).code
      const retryable = code === undefined && !init.signal?.aborted
      if (!retryable || n === DIRECT_ATTEMPTS) break
      init.warn(`direct override ${ref(d)}: ${(e as Error).message}; retrying (${n + 1}/${DIRECT_ATTEMPTS})`)
    }
  }
  if (last !== undefined) {
    await rm(file, { force: true })
    const code = (last as { code?: string }).code
    throw code === undefined ? errors.directFetch(ref(d), (last as Error).message ?? String(last)) : last
  }
  init.say(`direct override ${ref(d)}: ${formatBytes(d.manifest.archive.size)} from the server, SHA-256 verified`)
  try {
    await extractStaged(file, target, `direct override ${ref(d)}`, init)
  } finally {
    await rm(file, { force: true })
  }
}
