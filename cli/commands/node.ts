// `imgswarm node`: the inventory (import, list, show, rm, adopt) and the
// operator's actions (reimage, cancel). See docs/inventory.md.
import { readFile } from 'node:fs/promises'
import { Argument, Command, Option } from 'commander'
import { POWER_DRIVERS, type PowerDriverName } from '../../common/config-schedule.ts'
import { errors } from '../../common/errors.ts'
import { GROUP_PATTERN, NODE_STATES, type NodeRow, type NodeState } from '../../seeder/fleet/index.ts'
import { POWER_VERBS, type PowerVerb } from '../../seeder/power/index.ts'
import { info, printJson, printTable } from '../shared.ts'
import { type FleetBackend, type FleetOpts, openBackend } from './node-backend.ts'
import { addLocalReimageOptions, LOCAL_HELP, runLocalReimage } from './node-local.ts'
import { nodePushOverridesCommand, nodeUpdateCommand } from './node-update.ts'

interface NodeOpts extends FleetOpts {
  json?: boolean
  state?: NodeState
  group?: string
}

export const WHERE = `
The commands talk to the running server's API: --server URL (env IMGSWARM_SERVER_URL), else
server_url from the config file. The admin token comes from --token, then IMGSWARM_TOKEN, then
STORE/keys/admin.token. When no server was named and none answers at server_url, they open
STORE/fleet.db directly; --direct always does.`

/** Adds the options every node command shares. */
export function opts(cmd: Command, json = true): Command {
  cmd
    .addOption(new Option('--store <dir>', 'image store root (env IMGSWARM_STORE; default /var/lib/imgswarm)'))
    .addOption(new Option('--config <file>', 'config file (env IMGSWARM_CONFIG; default /etc/imgswarm/imgswarm.toml)'))
    .option('--server <url>', 'the image server (env IMGSWARM_SERVER_URL; default server_url)')
    .option('--token <token>', 'the admin token (env IMGSWARM_TOKEN; default STORE/keys/admin.token)')
    .option('--direct', 'open STORE/fleet.db directly instead of asking a server')
  if (json) cmd.option('--json', 'print JSON for scripts instead of a table')
  return cmd
}

export async function withBackend<T>(o: FleetOpts, fn: (b: FleetBackend) => Promise<T>): Promise<T> {
  const b = await openBackend(o)
  try {
    return await fn(b)
  } finally {
    await b.close()
  }
}

const dash = (v: unknown) => (v === null || v === undefined || v === '' ? '-' : String(v))

function printNodes(rows: NodeRow[]): void {
  printTable(
    ['ID', 'STATE', 'GROUP', 'MAC', 'IP', 'STEP', 'PERCENT', 'IMAGE', 'LAST SEEN'],
    rows.map((n) => [
      n.id,
      n.state,
      dash(n.group),
      dash(n.mac),
      dash(n.ip),
      dash(n.step),
      n.percent === null ? '-' : `${n.percent.toFixed(0)}%`,
      dash(n.image),
      dash(n.lastSeen),
    ]),
  )
}

function done(o: NodeOpts, what: string, rows: NodeRow[]): void {
  if (o.json) {
    printJson({ ok: true, nodes: rows })
    return
  }
  for (const n of rows) process.stdout.write(`${n.id}: ${what} (state ${n.state})\n`)
}

const group = (flag: string) => (v: string) => {
  if (!new RegExp(GROUP_PATTERN).test(v))
    throw errors.usage(`${flag} ${JSON.stringify(v)}: letters, digits, . _ + - (64 at most)`)
  return v
}

const state = (v: string): NodeState => {
  if (!(NODE_STATES as readonly string[]).includes(v))
    throw errors.usage(`--state ${JSON.stringify(v)}: one of ${NODE_STATES.join(', ')}`)
  return v as NodeState
}

/** `node reimage`: its own builder, so that other ways to reimage (a running node's --local) can be added here. */
export function nodeReimageCommand(): Command {
  return addLocalReimageOptions(opts(new Command('reimage')))
    .description('reimage nodes at their next network boot (by id or group), or this machine (--local)')
    .argument('[id...]', 'host names or MACs')
    .option('--group <group>', 'every node of this group', group('--group'))
    .addHelpText(
      'after',
      `
A node boots from its local disk until a reimage is requested; then its next PXE boot runs the
installer, and a verified install sends it back to its local disk. Discovered nodes must be
adopted first.

Examples:
  imgswarm node reimage node001 node002
  imgswarm node reimage --group render
${WHERE}
${LOCAL_HELP}`,
    )
    .action(async (ids: string[], o: NodeOpts & { local?: boolean }) => {
      if (o.local) return runLocalReimage(ids, o)
      if ((ids.length === 0) === (o.group === undefined))
        throw errors.usage('name node ids or --group GROUP (one of the two)')
      await withBackend(o, async (b) => {
        const rows: NodeRow[] = []
        if (o.group !== undefined) rows.push(...(await b.reimageGroup(o.group)))
        for (const id of ids) rows.push(await b.reimage(id))
        done(o, 'reimage requested', rows)
      })
    })
}

export function nodeCommands(): Command {
  const cmd = new Command('node')
    .description('the inventory of nodes: import, list, show, adopt, reimage, power, cancel, rm')
    .addHelpText(
      'after',
      `
Nodes are known by MAC, host name and IP. A node boots from its local disk until a reimage is
requested; unknown MACs that network-boot are listed as discovered and wait to be adopted.

A typical round:
  imgswarm node import nodes.csv                  the MAC/IP list (mac,ip[,hostname[,group]])
  imgswarm node list --state discovered           who PXE-booted unknown
  imgswarm node adopt 52:54:00:ab:cd:ef --group render
  imgswarm node reimage --group render            at their next network boot
  imgswarm status --watch                         follow it live (or the dashboard)
  imgswarm node show node001                      facts, events, install history

Docs: docs/inventory.md, docs/cli.md#node`,
    )

  opts(cmd.command('import'))
    .description('add or update nodes from a CSV file: mac,ip[,hostname[,group]] (all lines or none)')
    .argument('<file>', 'the CSV file (pumi MAC/IP list format)')
    .addHelpText(
      'after',
      `
One node a line; an optional header names the columns (mac,ip,hostname,group in any order);
blank lines and lines starting with # are skipped. Any bad line stops the import with its line
number, and nothing is imported. Known MACs are updated; discovered nodes become known.

Example file:
  mac,ip,hostname,group
  52:54:00:00:00:01,10.0.0.11,node001,render
  52:54:00:00:00:02,10.0.0.12,node002,render

Example:
  imgswarm node import nodes.csv
${WHERE}`,
    )
    .action(async (file: string, o: NodeOpts) => {
      const text = await readFile(file, 'utf8').catch((e: NodeJS.ErrnoException) => {
        throw errors.usage(`cannot read ${file}: ${e.code ?? e.message}`)
      })
      await withBackend(o, async (b) => {
        const rows = await b.importCsv(text, file)
        if (o.json) return printJson({ ok: true, nodes: rows })
        info(o, `imported ${rows.length} node(s) from ${file} into ${b.where}`)
      })
    })

  opts(cmd.command('list'))
    .description('list the nodes with their state and progress')
    .option('--state <state>', `only nodes in this state (${NODE_STATES.join(', ')})`, state)
    .option('--group <group>', 'only nodes of this group', group('--group'))
    .addHelpText(
      'after',
      `
Examples:
  imgswarm node list
  imgswarm node list --state discovered
  imgswarm node list --group render --json | jq -r '.nodes[].id'
${WHERE}`,
    )
    .action(async (o: NodeOpts) => {
      await withBackend(o, async (b) => {
        const rows = await b.list({ state: o.state, group: o.group })
        if (o.json) return printJson({ nodes: rows })
        printNodes(rows)
      })
    })

  opts(cmd.command('show'))
    .description('one node: state, progress, hardware facts, install history and recent events')
    .argument('<id>', 'host name or MAC')
    .addHelpText('after', `\nExample:\n  imgswarm node show node001\n${WHERE}`)
    .action(async (id: string, o: NodeOpts) => {
      await withBackend(o, async (b) => {
        const d = await b.show(id)
        if (o.json) return printJson(d)
        const out = process.stdout
        out.write(
          `node      ${d.id}\nstate     ${d.state}\ngroup     ${dash(d.group)}\nmac       ${dash(d.mac)}\nip        ${dash(d.ip)}\n` +
            `image     ${dash(d.image)}\nstep      ${dash(d.step)}${d.percent === null ? '' : ` ${d.percent.toFixed(1)}%`}\n` +
            `last seen ${dash(d.lastSeen)}\n${d.message ? `message   ${d.message}\n` : ''}${d.code ? `code      ${d.code}\n` : ''}`,
        )
        if (d.facts) {
          const f = d.facts
          out.write(
            `cpu       ${f.cpu.count} x ${f.cpu.model}\nmemory    ${(f.memoryBytes / 2 ** 30).toFixed(1)} GiB\n`,
          )
          for (const k of f.disks)
            out.write(`disk      ${k.name} ${(k.sizeBytes / 1e9).toFixed(1)} GB ${k.model ?? ''}\n`)
          for (const n of f.nics)
            out.write(`nic       ${n.name} ${n.mac ?? '-'} ${n.speedMbps === null ? '' : `${n.speedMbps} Mb/s`}\n`)
        }
        if (d.installs.length > 0) {
          out.write('\ninstalls:\n')
          printTable(
            ['ID', 'IMAGE', 'STARTED', 'ENDED', 'RESULT', 'CODE', 'FROM SERVER', 'FROM PEERS'],
            d.installs.map((i) => [
              i.id,
              dash(i.image),
              i.startedAt,
              dash(i.endedAt),
              i.result,
              dash(i.code),
              i.bytesFromServer,
              i.bytesFromPeers,
            ]),
          )
        }
        if (d.events.length > 0) {
          out.write('\nrecent events:\n')
          for (const e of d.events.slice(-20)) {
            out.write(
              `  ${e.receivedAt} ${e.step}${e.percent === undefined ? '' : ` ${e.percent}%`}${e.message ? ` ${e.message}` : ''}\n`,
            )
          }
        }
      })
    })

  opts(cmd.command('rm'))
    .description('remove a node from the inventory (its install history and events stay)')
    .argument('<id>', 'host name or MAC')
    .addHelpText('after', `\nExample:\n  imgswarm node rm node001\n${WHERE}`)
    .action(async (id: string, o: NodeOpts) => {
      await withBackend(o, async (b) => done(o, 'removed', [await b.remove(id)]))
    })

  opts(cmd.command('adopt'))
    .description('adopt a (discovered) node into a group, so that it can be reimaged')
    .argument('<id>', 'host name or MAC')
    .requiredOption('--group <group>', 'the group', group('--group'))
    .addHelpText(
      'after',
      `
Nodes that network-boot unknown are listed as discovered (imgswarm node list --state discovered)
and are never reimaged until adopted, unless their group allows auto-enrolment.

Example:
  imgswarm node adopt 52:54:00:ab:cd:ef --group render
${WHERE}`,
    )
    .action(async (id: string, o: NodeOpts) => {
      await withBackend(o, async (b) => done(o, `adopted into ${o.group}`, [await b.adopt(id, o.group as string)]))
    })

  cmd.addCommand(nodeReimageCommand())
  cmd.addCommand(nodeUpdateCommand())
  cmd.addCommand(nodePushOverridesCommand())

  opts(cmd.command('power'))
    .description('power nodes on or off, reboot them, or boot them into PXE (by id or group)')
    .addArgument(new Argument('<op>', 'what to do').choices([...POWER_VERBS]))
    .argument('[id...]', 'host names or MACs')
    .option('--group <group>', 'every node of this group', group('--group'))
    .addOption(
      new Option('--driver <driver>', "power driver (default: the node's, docs/power.md)").choices([...POWER_DRIVERS]),
    )
    .addHelpText(
      'after',
      `
Each node's driver comes from --driver, else its [[host]] entry in STORE/power.toml, else
serve.power.driver (default wol). wol: Wake-on-LAN magic packet to the node's MAC (on and pxe
only); ipmi: ipmitool against the node's BMC; ssh: systemctl reboot/poweroff on a running node;
amt: amttool (Intel AMT). pxe asks the BMC for a network boot first (ipmi, amt), then powers on
or cycles. Every node gets its own line; the exit status is 1 if any failed.

Examples:
  imgswarm node power on --group render
  imgswarm node power reboot node001 --driver ssh
  imgswarm node power pxe node001 node002 --driver ipmi
${WHERE}`,
    )
    .action(async (op: PowerVerb, ids: string[], o: NodeOpts & { driver?: PowerDriverName }) => {
      if ((ids.length === 0) === (o.group === undefined))
        throw errors.usage('name node ids or --group GROUP (one of the two)')
      await withBackend(o, async (b) => {
        const results = []
        if (o.group !== undefined) results.push(...(await b.power({ group: o.group }, op, o.driver)))
        for (const id of ids) results.push(...(await b.power({ id }, op, o.driver)))
        if (o.json) printJson({ ok: results.every((r) => r.ok), results })
        else
          for (const r of results)
            process.stdout.write(
              `${r.node}: ${r.driver} ${r.ok ? r.done.join(', ') || 'nothing to do' : `failed: ${r.error?.code} ${r.error?.message}`}\n`,
            )
        if (!results.every((r) => r.ok)) process.exitCode = 1
      })
    })

  opts(cmd.command('cancel'))
    .description('withdraw a pending reimage (a running install is marked cancelled)')
    .argument('<id>', 'host name or MAC')
    .addHelpText(
      'after',
      `
Only the server's records change: the pending request is withdrawn (the node's next network
boot goes to its local disk again), a running install is recorded as cancelled, and the node
shows idle. Nothing is sent to the node: an installer already running there goes on, and its
next event opens a new install. To stop it, power-cycle it after the cancel
(imgswarm node power reboot ID). See docs/inventory.md, "Cancelling".

Example:
  imgswarm node cancel node001
${WHERE}`,
    )
    .action(async (id: string, o: NodeOpts) => {
      await withBackend(o, async (b) => done(o, 'cancelled', [await b.cancel(id)]))
    })

  return cmd
}
