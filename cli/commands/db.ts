// `imgswarm db`: backup and integrity check of the fleet database
// (docs/fleet-database.md).
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { Command } from 'commander'
import { errors } from '../../common/errors.ts'
import { FLEET_DB_FILE, integrityCheck, openFleet } from '../../seeder/fleet/index.ts'
import { type CommonOpts, common, context, info, printJson } from '../shared.ts'

function dbFile(o: CommonOpts): string {
  const { store } = context(o)
  const file = join(store.root, FLEET_DB_FILE)
  if (!existsSync(file)) throw errors.fleetDb(file, 'does not exist (imgswarm serve creates it on its first start)')
  return file
}

export function dbCommands(): Command {
  const cmd = new Command('db').description('the fleet database (STORE/fleet.db): backup and check').addHelpText(
    'after',
    `
STORE/fleet.db (SQLite, WAL mode) holds the nodes, every install (image version, start, end,
result, bytes from the server and from peers), the events and the requested actions. serve
creates and migrates it. Both commands work while serve runs.

Examples:
  imgswarm db backup /backup/fleet-$(date +%F).db   a consistent copy, checked before it is kept
  imgswarm db check                                  PRAGMA integrity_check

Docs: docs/fleet-database.md (schema, migrations, durability, backup and restore), docs/cli.md#db`,
  )

  common(cmd.command('backup'))
    .description('write a consistent copy of the fleet database to FILE, also while serve runs')
    .argument('<file>', 'the backup file to write')
    .option('--force', 'replace FILE if it exists')
    .addHelpText(
      'after',
      `
The copy is taken with SQLite's online backup API: a consistent snapshot while the server keeps
writing. It is checked (PRAGMA integrity_check) before it replaces FILE. Restore: stop serve,
copy the backup over STORE/fleet.db (and delete fleet.db-wal and fleet.db-shm), start serve.

Examples:
  imgswarm db backup /backup/fleet-$(date +%F).db
  imgswarm db backup /backup/fleet.db --force`,
    )
    .action(async (file: string, o: CommonOpts & { force?: boolean }) => {
      const fleet = openFleet({ file: dbFile(o) })
      try {
        await fleet.backup(file, { force: o.force ?? false })
      } finally {
        await fleet.stop()
      }
      if (o.json) return printJson({ ok: true, file })
      info(o, `backed up ${fleet.file} to ${file}`)
    })

  common(cmd.command('check'))
    .description('run PRAGMA integrity_check on the fleet database')
    .addHelpText('after', '\nExample:\n  imgswarm db check')
    .action(async (o: CommonOpts) => {
      const file = dbFile(o)
      const problems = integrityCheck(file)
      if (o.json) printJson({ ok: problems.length === 0, file, problems })
      else process.stdout.write(problems.length === 0 ? `${file}: ok\n` : `${file}:\n  ${problems.join('\n  ')}\n`)
      if (problems.length > 0) process.exitCode = 1
    })

  return cmd
}
