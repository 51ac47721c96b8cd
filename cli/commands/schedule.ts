// `imgswarm schedule`: cron schedules that reimage, power off or reboot a
// group (docs/schedules.md), kept in the fleet database and run by serve.
import { Command, Option } from 'commander'
import { POWER_DRIVERS, type PowerDriverName } from '../../common/config-schedule.ts'
import { errors } from '../../common/errors.ts'
import { GROUP_PATTERN } from '../../seeder/fleet/index.ts'
import {
  parseCron,
  type RunRow,
  SCHEDULE_ACTIONS,
  type ScheduleAction,
  type ScheduleRow,
} from '../../seeder/schedule/index.ts'
import { printJson, printTable } from '../shared.ts'
import { opts, WHERE, withBackend } from './node.ts'
import type { FleetOpts } from './node-backend.ts'

interface SchedOpts extends FleetOpts {
  json?: boolean
  cron: string
  action: ScheduleAction
  tz?: string
  to?: string
  power?: PowerDriverName
}

const dash = (v: unknown) => (v === null || v === undefined || v === '' ? '-' : String(v))

const idArg = (v: string): number => {
  if (!/^[0-9]{1,9}$/.test(v) || Number(v) < 1) throw errors.usage(`schedule id ${JSON.stringify(v)}: a number`)
  return Number(v)
}

function printSchedules(rows: ScheduleRow[]): void {
  printTable(
    ['ID', 'GROUP', 'ACTION', 'CRON', 'TZ', 'POWER', 'NEXT RUN', 'LAST RESULT', 'LAST RUN'],
    rows.map((s) => [
      s.id,
      s.group,
      s.action + (s.to ? ` ${s.to}` : ''),
      s.cron,
      dash(s.timezone),
      dash(s.power),
      s.enabled ? dash(s.nextRun) : 'disabled',
      s.lastRun ? s.lastRun.result : '-',
      s.lastRun ? `${s.lastRun.startedAt} (${s.lastRun.trigger})` : '-',
    ]),
  )
}

function printRun(r: RunRow): void {
  process.stdout.write(
    `run #${r.id} (${r.trigger}) ${r.action} ${r.group}: ${r.result}${r.message ? `: ${r.message}` : ''}\n`,
  )
  for (const n of r.nodes) process.stdout.write(`  ${n.id} ${n.state}${n.power ? ` (${n.power})` : ''}\n`)
}

const ACTIONS_HELP = `
Actions:
  reimage   ask for a reimage of every node of the group (as imgswarm node reimage --group),
            then wake or reboot each node into PXE with its power driver (docs/power.md); the
            run stays open until every node has installed or failed, or serve.schedule.timeout
  poweroff  power the group's nodes off (ipmi, ssh or amt; Wake-on-LAN cannot)
  reboot    power-cycle the group's nodes
  update    needs the node agent (imgswarm node update, issue 8), which has not landed: it is
            refused with IMGSWARM_ERR_NEEDS_AGENT

Cron: five fields, minute hour day-of-month month day-of-week, with * , - / and names
(mon, jan); "0 3 * * 6" is Saturdays at 03:00. Times are the server's local zone unless --tz.

Missed runs: a run that came due while serve was down runs once when serve starts if it is
late by at most serve.schedule.catch_up (default 1h); an older one is recorded as skipped and
notified. Several missed runs of one schedule count as one.`

export function scheduleCommands(): Command {
  const cmd = new Command('schedule').description(
    'cron schedules that reimage, power off or reboot a group (run by serve)',
  )

  opts(cmd.command('add'))
    .description('add a schedule: a group, a cron expression and an action')
    .argument('<group>', 'the group whose nodes it acts on')
    .requiredOption('--cron <expr>', 'when: five cron fields, e.g. "0 3 * * 6" (Saturdays 03:00)')
    .addOption(new Option('--action <action>', 'what to do').choices([...SCHEDULE_ACTIONS]).makeOptionMandatory())
    .option('--tz <zone>', "IANA time zone of the cron fields, e.g. Europe/Paris (default: the server's)")
    .option('--to <name@version>', 'update only: the image version')
    .addOption(
      new Option('--power <driver>', "power driver for every node (default: each node's own)").choices([
        ...POWER_DRIVERS,
      ]),
    )
    .addHelpText(
      'after',
      `${ACTIONS_HELP}

Examples:
  imgswarm schedule add render --cron "0 3 * * 6" --action reimage
  imgswarm schedule add render --cron "0 3 * * 6" --action reimage --power wol
  imgswarm schedule add lab --cron "30 22 * * mon-fri" --tz Europe/Paris --action poweroff
  imgswarm schedule list
${WHERE}`,
    )
    .action(async (group: string, o: SchedOpts) => {
      if (!new RegExp(GROUP_PATTERN).test(group))
        throw errors.usage(`group ${JSON.stringify(group)}: letters, digits, . _ + - (64 at most)`)
      // Checked here too, so that a typo is told before any server is asked.
      parseCron(o.cron, o.tz)
      await withBackend(o, async (b) => {
        const s = await b.addSchedule({
          group,
          cron: o.cron,
          action: o.action,
          ...(o.tz === undefined ? {} : { timezone: o.tz }),
          ...(o.to === undefined ? {} : { to: o.to }),
          ...(o.power === undefined ? {} : { power: o.power }),
        })
        if (o.json) return printJson({ ok: true, schedule: s })
        process.stdout.write(
          `schedule #${s.id}: ${s.action} ${s.group} at "${s.cron}"${s.timezone ? ` ${s.timezone}` : ''}; next run ${dash(s.nextRun)}\n`,
        )
      })
    })

  opts(cmd.command('list'))
    .description('the schedules with their next run and last result')
    .addHelpText('after', `\nExamples:\n  imgswarm schedule list\n  imgswarm schedule list --json\n${WHERE}`)
    .action(async (o: SchedOpts) => {
      await withBackend(o, async (b) => {
        const rows = await b.schedules()
        if (o.json) return printJson({ schedules: rows })
        if (rows.length === 0) process.stderr.write('no schedules (add one with imgswarm schedule add)\n')
        else printSchedules(rows)
      })
    })

  opts(cmd.command('show'))
    .description('one schedule and its newest 50 runs, with each node')
    .argument('<id>', 'the schedule number (imgswarm schedule list)', idArg)
    .addHelpText('after', `\nExample:\n  imgswarm schedule show 1\n${WHERE}`)
    .action(async (id: number, o: SchedOpts) => {
      await withBackend(o, async (b) => {
        const r = await b.schedule(id)
        if (o.json) return printJson(r)
        printSchedules([r.schedule])
        if (r.runs.length > 0) process.stdout.write('\n')
        for (const run of r.runs) printRun(run)
      })
    })

  opts(cmd.command('rm'))
    .description('remove a schedule (its runs stay in the history)')
    .argument('<id>', 'the schedule number', idArg)
    .addHelpText('after', `\nExample:\n  imgswarm schedule rm 1\n${WHERE}`)
    .action(async (id: number, o: SchedOpts) => {
      await withBackend(o, async (b) => {
        const s = await b.removeSchedule(id)
        if (o.json) return printJson({ ok: true, schedule: s })
        process.stdout.write(`schedule #${s.id} (${s.action} ${s.group}) removed\n`)
      })
    })

  for (const [verb, on] of [
    ['disable', false],
    ['enable', true],
  ] as const) {
    opts(cmd.command(verb))
      .description(
        on
          ? 'resume a paused schedule (its next run is counted from now)'
          : 'pause a schedule: it does not run until enabled again',
      )
      .argument('<id>', 'the schedule number', idArg)
      .addHelpText(
        'after',
        `
Runs that fall while a schedule is paused are not missed runs: nothing is caught up or
reported as skipped when it is enabled again.

Example:
  imgswarm schedule ${verb} 1
${WHERE}`,
      )
      .action(async (id: number, o: SchedOpts) => {
        await withBackend(o, async (b) => {
          const s = await b.enableSchedule(id, on)
          if (o.json) return printJson({ ok: true, schedule: s })
          process.stdout.write(
            `schedule #${s.id} (${s.action} ${s.group}) ${on ? `enabled; next run ${dash(s.nextRun)}` : 'disabled'}\n`,
          )
        })
      })
  }

  opts(cmd.command('run-now'))
    .description("run a schedule's action now (its next cron run stays as it is)")
    .argument('<id>', 'the schedule number', idArg)
    .addHelpText(
      'after',
      `
Prints the run as it started: a reimage stays "running" until its nodes have installed (follow
it with imgswarm schedule show ID or the dashboard's Schedules tab). Exit status 1 when the run
failed at once (e.g. an empty group).

Example:
  imgswarm schedule run-now 1
${WHERE}`,
    )
    .action(async (id: number, o: SchedOpts) => {
      await withBackend(o, async (b) => {
        const r = await b.runSchedule(id)
        if (o.json) printJson({ ok: r.result !== 'failed', run: r })
        else printRun(r)
        if (r.result === 'failed') process.exitCode = 1
      })
    })

  return cmd
}
