// What every command shares: the common options, config and store lookup,
// output as a table for people or JSON for scripts, and error reporting.
import { type Command, Option } from 'commander'
import { type Config, loadConfig } from '../common/config.ts'
import { errors, ImgswarmError } from '../common/errors.ts'
import { Progress } from '../common/progress.ts'
import { Store } from '../seeder/index.ts'

export interface CommonOpts {
  store?: string
  config?: string
  json?: boolean
  quiet?: boolean
}

/** Adds --store, --config, --json and --quiet to a leaf command. */
export function common(cmd: Command, { json = true }: { json?: boolean } = {}): Command {
  cmd
    .addOption(new Option('--store <dir>', 'image store root (env IMGSWARM_STORE; default /var/lib/imgswarm)'))
    .addOption(new Option('--config <file>', 'config file (env IMGSWARM_CONFIG; default /etc/imgswarm/imgswarm.toml)'))
    .option('-q, --quiet', 'no progress display')
  if (json) cmd.option('--json', 'print JSON for scripts instead of a table')
  return cmd
}

export function context(opts: CommonOpts): { config: Config; store: Store } {
  const config = loadConfig({ config: opts.config, store: opts.store })
  return { config, store: new Store(config.store) }
}

export function progress(opts: CommonOpts, label: string, total: number): Progress {
  return new Progress({ label, total, enabled: !opts.quiet && !opts.json })
}

/** A commander parser for a whole-number flag in [min, max]; anything else is a usage error naming the flag. */
export function wholeNumber(flag: string, min: number, max: number) {
  return (v: string): number => {
    const n = Number(v)
    if (!/^\d+$/.test(v.trim()) || n < min || n > max) {
      throw errors.usage(`${flag} ${JSON.stringify(v)}: expected a whole number from ${min} to ${max}`)
    }
    return n
  }
}

export function printJson(v: unknown): void {
  process.stdout.write(`${JSON.stringify(v, null, 2)}\n`)
}

/** A plain text table: columns padded to the widest cell. */
export function printTable(head: string[], rows: (string | number)[][]): void {
  const cells = [head, ...rows.map((r) => r.map(String))]
  const widths = head.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)))
  for (const r of cells) {
    process.stdout.write(`${r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ')}\n`)
  }
}

export function info(opts: CommonOpts, line: string): void {
  if (!opts.json) process.stderr.write(`${line}\n`)
}

export function warn(line: string): void {
  process.stderr.write(`imgswarm: warning: ${line}\n`)
}

/** Prints an error so a person knows what to do next; returns the exit code. */
export function reportError(e: unknown): number {
  if (e instanceof ImgswarmError) {
    process.stderr.write(`imgswarm: error ${e.code}: ${e.message}\n`)
    if (e.hint) process.stderr.write(`  what to do: ${e.hint}\n`)
    if (process.env.IMGSWARM_DEBUG) process.stderr.write(`${e.stack}\n`)
    return e.exitCode
  }
  const err = e as NodeJS.ErrnoException
  if (err?.code === 'EACCES' || err?.code === 'EPERM') {
    process.stderr.write(
      `imgswarm: error ${err.code}: ${err.message}\n  what to do: run as root, or use --store DIR on a directory you own\n`,
    )
    return 1
  }
  process.stderr.write(
    `imgswarm: unexpected error: ${err?.stack ?? String(e)}\n  this is a bug in imgswarm; please report it with the command you ran\n`,
  )
  return 1
}
