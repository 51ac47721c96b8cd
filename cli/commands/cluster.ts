// `imgswarm cluster validate|show|edit|init`: the cluster config
// (docs/cluster-config.md) from the command line.
import { existsSync } from 'node:fs'
import { readFile, writeFile } from 'node:fs/promises'
import { isIP } from 'node:net'
import { Command } from 'commander'
import { normalizeMac } from '../../common/cmdline.ts'
import { errors } from '../../common/errors.ts'
import { readAdminToken } from '../../seeder/api/auth.ts'
import {
  CLUSTER_EXAMPLE,
  ClusterIndex,
  clusterFileFor,
  compressHosts,
  expandHostPattern,
  HostRangeError,
  isRange,
  parseCluster,
  parseHostPattern,
  type ResolvedNode,
  type Source,
} from '../../seeder/cluster/index.ts'
import { type CommonOpts, common, context, printJson } from '../shared.ts'
import { editCluster } from './cluster-edit.ts'

interface FileOpts extends CommonOpts {
  file?: string
}

/** --file / the argument, else serve.cluster, else STORE/cluster.toml. */
function clusterFile(opts: FileOpts, arg?: string): string {
  const explicit = arg ?? opts.file
  if (explicit !== undefined) return explicit
  const { config } = context(opts)
  return clusterFileFor(config.store, config.serve.clusterFile)
}

async function readCluster(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8')
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    if (code === 'ENOENT') {
      throw errors.usage(
        `the cluster file ${file} does not exist`,
        'write one with: imgswarm cluster init, or name it with --file FILE',
      )
    }
    throw errors.config(file, `cannot read it (${code ?? String(e)})`)
  }
}

function where(s: Source, file: string): string {
  if (s.kind === 'default') return 'default'
  const what = s.kind === 'global' ? '[global]' : `${s.kind} ${s.name}`
  return `${what} (${file}:${s.line})`
}

function nodeJson(label: string, r: ResolvedNode | undefined, file: string) {
  if (!r) return { node: label, known: false }
  const set = <T>(s: { value: T; from: Source } | undefined) =>
    s ? { value: s.value, from: where(s.from, file) } : null
  return {
    node: label,
    known: true,
    identity: r.node,
    groups: r.groups.map((g) => g.name),
    host: r.host ? `${file}:${r.host.line}` : null,
    image: set(r.image),
    overrides: r.overrides.map((o) => set(o)),
    layout: r.layout ? { value: r.layout.value.path, from: where(r.layout.from, file) } : null,
    post: set(r.post),
  }
}

function printNode(label: string, r: ResolvedNode | undefined, file: string): void {
  const out: string[] = []
  if (!r) {
    out.push(`${label}: no plan (in no group, and no [[host]] entry)`)
  } else {
    const groups = r.groups.length > 0 ? `groups ${r.groups.map((g) => g.name).join(' < ')}` : 'no group'
    out.push(`${label}  (${groups}${r.host ? `; host entry line ${r.host.line}` : ''})`)
    const row = (k: string, v: string, from: string) => {
      out.push(`  ${k.padEnd(10)}${v.padEnd(28)} ${from}`.trimEnd())
    }
    if (r.image) row('image', r.image.value, where(r.image.from, file))
    else row('image', '(none: no plan)', '')
    if (r.overrides.length === 0) row('overrides', '(none)', '')
    for (const [i, o] of r.overrides.entries()) row(i === 0 ? 'overrides' : '', o.value, where(o.from, file))
    if (r.layout) row('layout', r.layout.value.path, where(r.layout.from, file))
    else row('layout', '(none)', '')
    row('post', r.post.value, where(r.post.from, file))
  }
  process.stdout.write(`${out.join('\n')}\n`)
}

/** The nodes a target names: a group, a range, one MAC, IP or host name; none: every node the file names. */
function targetNodes(index: ClusterIndex, target: string | undefined): string[] {
  if (target === undefined) return index.allNodes()
  const members = index.members(target)
  if (members) return members
  if (isRange(target)) {
    try {
      return [...expandHostPattern(parseHostPattern(target))]
    } catch (e) {
      if (e instanceof HostRangeError)
        throw errors.usage(`bad host range: ${e.message}`, 'see docs/cluster-config.md#host-ranges')
      throw e
    }
  }
  return [target.trim()]
}

function queryOf(label: string) {
  const mac = normalizeMac(label)
  if (mac) return { mac }
  if (isIP(label)) return { ip: label }
  return { hostname: label }
}

/** POST /api/v1/plans/reload with the admin token; the server's error (422 with line numbers) is passed on. */
async function reloadServer(opts: FileOpts & { token?: string }, url: string): Promise<void> {
  const token =
    opts.token ??
    process.env.IMGSWARM_TOKEN ??
    (await readAdminToken(context(opts).config.store).catch(() => undefined))
  if (!token)
    throw errors.usage(
      '--reload needs the admin token',
      'pass --token TOKEN or IMGSWARM_TOKEN, or run where STORE/keys/admin.token is readable',
    )
  const res = await fetch(`${url.replace(/\/+$/, '')}/api/v1/plans/reload`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token.trim()}` },
  }).catch((e: Error) => {
    throw errors.clusterEdit(
      `the file is saved, but ${url} cannot be reached: ${e.message}`,
      'reload it later: POST /api/v1/plans/reload',
    )
  })
  if (!res.ok) {
    const body = (await res.json().catch(() => ({}))) as { error?: { message?: string } }
    throw errors.clusterEdit(
      `the file is saved, but the server refused to reload it (${res.status}): ${body.error?.message ?? ''}`,
      'the server keeps its previous config; fix the problem and reload again',
    )
  }
  process.stdout.write(`${url}: reloaded\n`)
}

export function clusterCommands(): Command {
  const cmd = new Command('cluster')
    .description(
      'the cluster config: groups, host ranges and hosts that say what every node installs (docs/cluster-config.md)',
    )
    .addHelpText(
      'after',
      `
The file is STORE/cluster.toml unless serve.cluster (or --file) says otherwise.
Examples:
  imgswarm cluster init                     write a commented example
  imgswarm cluster validate                 every problem as FILE:LINE:COL: message
  imgswarm cluster show gpu                 each member of group gpu and its plan
  imgswarm cluster show 'node[001-004]'     expand a range and resolve each node
  EDITOR=nano imgswarm cluster edit         edit, validate, then replace atomically`,
    )

  cmd.addCommand(
    common(new Command('validate'))
      .description('check the cluster file; prints each problem as FILE:LINE:COL: message and exits 2 if there is any')
      .argument('[file]', 'the cluster file (default: serve.cluster, else STORE/cluster.toml)')
      .addHelpText(
        'after',
        `
Examples:
  imgswarm cluster validate
  imgswarm cluster validate /etc/imgswarm/cluster.toml
  imgswarm cluster validate --json | jq '.problems[]'`,
      )
      .action(async (arg: string | undefined, opts: FileOpts) => {
        const file = clusterFile(opts, arg)
        const r = parseCluster(await readCluster(file), file)
        const index = r.config ? new ClusterIndex(r.config) : undefined
        const summary = index
          ? { groups: index.config.groups.length, hosts: index.config.hosts.length, nodes: index.allNodes().length }
          : undefined
        if (opts.json) {
          printJson({ file, ok: r.diagnostics.length === 0, problems: r.diagnostics, warnings: r.warnings, ...summary })
        } else {
          for (const d of r.diagnostics) process.stderr.write(`${d.file}:${d.line}:${d.col}: ${d.message}\n`)
          for (const d of r.warnings) process.stderr.write(`${d.file}:${d.line}:${d.col}: warning: ${d.message}\n`)
          if (summary) {
            process.stdout.write(
              `${file}: valid: ${summary.groups} group(s), ${summary.hosts} host entr${summary.hosts === 1 ? 'y' : 'ies'}, ${summary.nodes} node(s) named\n`,
            )
          } else process.stderr.write(`${file}: ${r.diagnostics.length} problem(s)\n`)
        }
        if (r.diagnostics.length > 0) process.exitCode = 2
      }),
  )

  cmd.addCommand(
    common(new Command('show'))
      .description(
        "expand ranges and show each node's resolved plan: image, overrides in order, layout, post, and where each came from",
      )
      .argument(
        '[target]',
        'a group name, a host range like node[001-016], a host name, MAC or IP (default: every node the file names)',
      )
      .option('--file <file>', 'the cluster file (default: serve.cluster, else STORE/cluster.toml)')
      .addHelpText(
        'after',
        `
Examples:
  imgswarm cluster show                      every node the file names
  imgswarm cluster show compute              the members of group compute
  imgswarm cluster show 'gpu[01-04].farm.example'
  imgswarm cluster show 52:54:00:12:34:56 --json`,
      )
      .action(async (target: string | undefined, opts: FileOpts) => {
        const file = clusterFile(opts)
        const r = parseCluster(await readCluster(file), file)
        if (!r.config) throw errors.clusterInvalid(file, r.diagnostics)
        const index = new ClusterIndex(r.config)
        const nodes = targetNodes(index, target)
        const g = target === undefined ? undefined : index.group(target)
        const inGroup = g ? [g.name] : []
        const resolved = nodes.map((n) => [n, index.resolve({ ...queryOf(n), groups: inGroup })] as const)
        const group = g && {
          name: g.name,
          priority: g.priority,
          line: g.line,
          autoEnrol: g.autoEnrol,
          members: compressHosts(nodes),
        }
        if (opts.json)
          printJson({ file, ...(group ? { group } : {}), nodes: resolved.map(([n, x]) => nodeJson(n, x, file)) })
        else {
          if (group) {
            const auto = group.autoEnrol ? ', auto_enrol' : ''
            process.stdout.write(
              `group ${group.name} (priority ${group.priority}${auto}; ${file}:${group.line}): ${nodes.length} member(s): ${group.members.join(' ') || '(none)'}\n\n`,
            )
          }
          for (const [n, x] of resolved) printNode(n, x, file)
        }
      }),
  )

  cmd.addCommand(
    common(new Command('edit'), { json: false })
      .description(
        'open the cluster file in $VISUAL or $EDITOR, validate it, reopen it until it is valid, then replace the file atomically',
      )
      .option('--file <file>', 'the cluster file (default: serve.cluster, else STORE/cluster.toml)')
      .option('--reload <url>', 'after saving, tell the server at URL to reread it now (POST /api/v1/plans/reload)')
      .option('--token <token>', 'admin token for --reload (env IMGSWARM_TOKEN; default STORE/keys/admin.token)')
      .addHelpText(
        'after',
        `
The editor works on a copy next to the file. On errors the messages are shown
and you are asked whether to edit again; answering n keeps the file as it was
(your copy stays, its name is printed). A running serve rereads the file by
itself when it changes; a server on another machine needs POST /api/v1/plans/reload.

Examples:
  imgswarm cluster edit
  EDITOR='code --wait' imgswarm cluster edit --file /etc/imgswarm/cluster.toml
  imgswarm cluster edit --reload http://imageserver:8470`,
      )
      .action(async (opts: FileOpts & { reload?: string; token?: string }) => {
        const file = clusterFile(opts)
        const saved = await editCluster(file, { editor: process.env.VISUAL || process.env.EDITOR || 'vi' })
        if (saved && opts.reload !== undefined) await reloadServer(opts, opts.reload)
      }),
  )

  cmd.addCommand(
    common(new Command('init'), { json: false })
      .description('write a commented example cluster file (refuses to overwrite one)')
      .argument('[file]', 'where (default: serve.cluster, else STORE/cluster.toml)')
      .option('--force', 'overwrite an existing file')
      .addHelpText('after', '\nExamples:\n  imgswarm cluster init\n  imgswarm cluster init ./cluster.toml')
      .action(async (arg: string | undefined, opts: FileOpts & { force?: boolean }) => {
        const file = clusterFile(opts, arg)
        if (existsSync(file) && !opts.force) {
          throw errors.usage(
            `${file} already exists`,
            'edit it with imgswarm cluster edit, or pass --force to overwrite it',
          )
        }
        await writeFile(file, CLUSTER_EXAMPLE, { flag: opts.force ? 'w' : 'wx' })
        process.stdout.write(
          `wrote ${file}: edit it (imgswarm cluster edit), then check it (imgswarm cluster validate)\n`,
        )
      }),
  )
  return cmd
}
