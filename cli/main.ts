#!/usr/bin/env node
// imgswarm: one binary, subcommands per area. `imgswarm help <command>` and
// `--help` on every command say what it does, with examples.
import { Command } from 'commander'
import pkg from '../package.json' with { type: 'json' }
import { archiveCommands } from './commands/archive.ts'
import { bootCommands } from './commands/boot.ts'
import { clusterCommands } from './commands/cluster.ts'
import { dashboardCommands } from './commands/dashboard.ts'
import { dbCommands } from './commands/db.ts'
import { demoCommand } from './commands/demo.ts'
import { installCommand } from './commands/install.ts'
import { keysCommands } from './commands/keys.ts'
import { nodeCommands } from './commands/node.ts'
import { serveCommand } from './commands/serve.ts'
import { statusCommand } from './commands/status.ts'
import { storeCommands } from './commands/store-cmds.ts'
import { trackerCommand } from './commands/tracker.ts'
import { reportError } from './shared.ts'

const program = new Command('imgswarm')
  .description(
    'peer-to-peer reimaging of Linux fleets: every node that has a piece of the image serves it to the others',
  )
  .version(pkg.version, '-V, --version')
  .showHelpAfterError('(run with --help for usage)')
  .addHelpText(
    'after',
    `
First steps:
  imgswarm image import /srv/rootfs base      copy a tree into the store as base@1
  imgswarm image pack base --compress zstd    archive + private torrent + signed manifest
  imgswarm image verify base                  check signature, SHA-256 and piece hashes
  imgswarm image list                         what the store holds
  imgswarm demo                               all of the above on a sample tree

Settings come from flags, then the environment (IMGSWARM_STORE, IMGSWARM_CONFIG,
IMGSWARM_SERVER_URL), then the config file, then defaults. Docs: docs/cli.md`,
  )

program.addCommand(storeCommands('image'))
program.addCommand(storeCommands('override'))
program.addCommand(archiveCommands())
program.addCommand(keysCommands())
program.addCommand(serveCommand())
program.addCommand(statusCommand())
program.addCommand(dashboardCommands())
program.addCommand(clusterCommands())
program.addCommand(nodeCommands())
program.addCommand(dbCommands())
program.addCommand(trackerCommand())
program.addCommand(installCommand())
program.addCommand(bootCommands())
program.addCommand(demoCommand())

try {
  await program.parseAsync(process.argv)
} catch (e) {
  process.exitCode = reportError(e)
}
