// Which code bin/imgswarm runs: the dist/ bundle when there is one, else the
// sources. A stale bundle would benchmark yesterday's packer, so say so.
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'

const SOURCE_DIRS = ['cli', 'common', 'seeder']

function newestTs(dir: string): number {
  let newest = 0
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile() && e.name.endsWith('.ts')) newest = Math.max(newest, statSync(join(e.parentPath, e.name)).mtimeMs)
  }
  return newest
}

export function launcherMode(repo: string, fromSource: boolean): { mode: string; warning?: string } {
  const bundle = join(repo, 'dist/imgswarm.mjs')
  if (fromSource || process.env.IMGSWARM_FROM_SOURCE || !existsSync(bundle)) return { mode: 'from source' }
  const built = statSync(bundle).mtimeMs
  const stale = SOURCE_DIRS.some((d) => existsSync(join(repo, d)) && newestTs(join(repo, d)) > built)
  return stale
    ? {
        mode: 'dist bundle',
        warning: 'dist/imgswarm.mjs is older than the sources: run npm run build, or pass --from-source',
      }
    : { mode: 'dist bundle' }
}
