// Every imgswarm command, in the order `imgswarm --help` lists them. cli/main.ts
// loads this module for everything but `install` (which loads only its own).
import type { Command } from 'commander'
import { agentCommand } from './agent.ts'
import { archiveCommands } from './archive.ts'
import { bootCommands } from './boot.ts'
import { clusterCommands } from './cluster.ts'
import { dashboardCommands } from './dashboard.ts'
import { dbCommands } from './db.ts'
import { demoCommand } from './demo.ts'
import { fetchCommand } from './fetch.ts'
import { installCommand } from './install.ts'
import { keysCommands } from './keys.ts'
import { nodeCommands } from './node.ts'
import { publishCommand } from './publish.ts'
import { scheduleCommands } from './schedule.ts'
import { serveCommand } from './serve.ts'
import { statusCommand } from './status.ts'
import { storeCommands } from './store-cmds.ts'
import { trackerCommand } from './tracker.ts'

export function allCommands(): Command[] {
  return [
    storeCommands('image'),
    storeCommands('override'),
    publishCommand(),
    fetchCommand(),
    archiveCommands(),
    keysCommands(),
    serveCommand(),
    statusCommand(),
    dashboardCommands(),
    clusterCommands(),
    nodeCommands(),
    scheduleCommands(),
    dbCommands(),
    trackerCommand(),
    installCommand(),
    agentCommand(),
    bootCommands(),
    demoCommand(),
  ]
}
