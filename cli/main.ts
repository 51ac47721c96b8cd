#!/usr/bin/env node
// imgswarm: one binary, subcommands per area. `imgswarm help <command>` and
// `--help` on every command say what it does, with examples.
import { Command } from 'commander'
import pkg from '../package.json' with { type: 'json' }
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

// Every node of a fleet starts `install` at the same moment, on the boot image's small CPU
// budget: that command loads only its own modules, not the server's (fastify, the tracker).
if (process.argv[2] === 'install') {
  const { installCommand } = await import('./commands/install.ts')
  program.addCommand(installCommand())
} else if (process.argv[2] === 'agent') {
  // The node agent runs on every installed node: only its own modules too.
  const { agentCommand } = await import('./commands/agent.ts')
  program.addCommand(agentCommand())
} else if (process.argv[2] === 'fetch') {
  // The same for fetch: it runs on every node of a render farm at once.
  const { fetchCommand } = await import('./commands/fetch.ts')
  program.addCommand(fetchCommand())
} else {
  const { allCommands } = await import('./commands/all.ts')
  for (const c of allCommands()) program.addCommand(c)
}

try {
  await program.parseAsync(process.argv)
} catch (e) {
  process.exitCode = reportError(e)
}
