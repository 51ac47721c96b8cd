// After the fleet: each node's install checked from outside, not taken on
// its word: exit status 0, its JSON summary (installed in place), and files
// on its target compared with the sample tree, the override and the identity.
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { POST_MARK, type SampleImage } from './sample-image.ts'

export interface NodeSummary {
  inPlace: boolean
  seconds: number
  image_stats: {
    bytesDown: number
    bytesUp: number
    bytesFromPeers: number
    bytesFromWebseed: number
    piecesTotal: number
  }
}

export interface NodeCheck {
  name: string
  ok: boolean
  /** What failed, for the summary. */
  problems: string[]
  summary: NodeSummary | undefined
}

async function sha256(file: string): Promise<string> {
  const h = createHash('sha256')
  for await (const c of createReadStream(file)) h.update(c as Buffer)
  return h.digest('hex')
}

async function text(file: string): Promise<string | undefined> {
  return readFile(file, 'utf8').catch(() => undefined)
}

export function parseSummary(stdout: string): NodeSummary | undefined {
  try {
    const j = JSON.parse(stdout) as NodeSummary
    return typeof j.image_stats?.bytesDown === 'number' ? j : undefined
  } catch {
    return undefined
  }
}

export interface CheckInit {
  name: string
  exit: { code: number | null; signal: string | null }
  stdout: string
  tail: string[]
  /** The source tree and what the sample promises. */
  tree: string
  sample: SampleImage
  /** Runs `fn` on the node's installed root (a directory, or its disk mounted read-only). */
  withRoot: <T>(fn: (root: string) => Promise<T>) => Promise<T>
}

export async function checkNode(o: CheckInit): Promise<NodeCheck> {
  const problems: string[] = []
  const summary = parseSummary(o.stdout)
  if (o.exit.code !== 0) {
    const last = o.tail.filter((l) => l.trim() !== '').slice(-3)
    problems.push(`exit ${o.exit.signal ?? o.exit.code}${last.length > 0 ? `: ${last.join(' / ')}` : ''}`)
    return { name: o.name, ok: false, problems, summary }
  }
  if (!summary) problems.push('no JSON summary')
  else if (!summary.inPlace) problems.push('not installed in place')
  try {
    await o.withRoot(async (root) => {
      for (const rel of o.sample.checks) {
        const [want, got] = await Promise.all([
          sha256(join(o.tree, rel)),
          sha256(join(root, rel)).catch(() => 'missing'),
        ])
        if (want !== got) problems.push(`${rel} differs from the image`)
      }
      if ((await text(join(root, 'etc/hostname'))) !== `${o.name}\n`) problems.push('etc/hostname is not the node name')
      if ((await text(join(root, 'etc/motd'))) !== o.sample.motd) problems.push('the site override is missing')
      if (o.sample.postMark !== undefined) {
        const want = `${o.sample.postMark.replace('{node}', o.name)}\n`
        if ((await text(join(root, POST_MARK))) !== want) problems.push('the post-install script did not run')
      }
    })
  } catch (e) {
    problems.push(`cannot read the target: ${(e as Error).message}`)
  }
  return { name: o.name, ok: problems.length === 0, problems, summary }
}

/** The sentence the summary prints for a fleet where every check passed. */
export function checkedWhat(sample: SampleImage): string {
  return (
    `exit 0, installed in place, SHA-256 of ${sample.checks.length} files equal to the image, ` +
    `host name set, override applied${sample.postMark !== undefined ? ', post-install script ran' : ''}`
  )
}
