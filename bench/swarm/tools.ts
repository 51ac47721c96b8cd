// The programs the baselines need, installed with apt-get when we are root
// (the output says so), and the imgswarm launcher every host runs.
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { errors } from '../../common/errors.ts'

/** Program -> Debian package. */
const PACKAGES: Record<string, string> = {
  curl: 'curl',
  tar: 'tar',
  bash: 'bash',
  'udp-sender': 'udpcast',
  'udp-receiver': 'udpcast',
  aria2c: 'aria2',
  ip: 'iproute2',
  tc: 'iproute2',
}

const has = (tool: string) => spawnSync('sh', ['-c', 'command -v "$1"', 'sh', tool], { stdio: 'ignore' }).status === 0

export function ensureTools(log: (line: string) => void): void {
  let missing = Object.keys(PACKAGES).filter((t) => !has(t))
  if (missing.length === 0) return
  const pkgs = [...new Set(missing.map((t) => PACKAGES[t] as string))]
  const cmd = `apt-get install -y ${pkgs.join(' ')}`
  if (process.getuid?.() !== 0)
    throw errors.tool(missing.join(', '), `not installed; as root run: ${cmd}`, pkgs.join(' '))
  log(`installing ${pkgs.join(' ')} for ${missing.join(', ')}: ${cmd}`)
  const opts = { stdio: 'inherit' as const, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } }
  if (spawnSync('apt-get', ['install', '-y', ...pkgs], opts).status !== 0) {
    spawnSync('apt-get', ['update'], opts)
    spawnSync('apt-get', ['install', '-y', ...pkgs], opts)
  }
  missing = missing.filter((t) => !has(t))
  if (missing.length > 0) throw errors.tool(missing.join(', '), `still missing after ${cmd}`, pkgs.join(' '))
}

export interface Launcher {
  cmd: string
  /** Arguments before the imgswarm subcommand. */
  pre: string[]
  env: NodeJS.ProcessEnv
  what: string
}

/**
 * How every host runs imgswarm. Default: a fresh esbuild bundle of the
 * sources in the work directory (what dist/ ships, without depending on a
 * stale dist/); it starts about 30% faster than type-stripped sources, which
 * counts when 48 nodes start at once on 2 cores. --from-source: bin/imgswarm
 * with IMGSWARM_FROM_SOURCE=1.
 */
export async function launcher(repo: string, work: string, fromSource: boolean): Promise<Launcher> {
  const env = { ...process.env, IMGSWARM_CONFIG: 'none' }
  if (fromSource) {
    return { cmd: join(repo, 'bin/imgswarm'), pre: [], env: { ...env, IMGSWARM_FROM_SOURCE: '1' }, what: 'sources' }
  }
  const esbuild = await import('esbuild')
  const out = join(work, 'imgswarm.mjs')
  await esbuild.build({
    entryPoints: [join(repo, 'cli/main.ts')],
    outfile: out,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    packages: 'external',
    logLevel: 'warning',
  })
  await esbuild.stop()
  if (!existsSync(out)) throw errors.tool('esbuild', `no ${out}`)
  // node_modules resolve from the bundle's folder upwards: the work directory must sit in the repo.
  return { cmd: process.execPath, pre: [out], env, what: `bundle ${out}` }
}
