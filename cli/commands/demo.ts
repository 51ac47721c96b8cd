// `imgswarm demo`: the README's first command. A simulated fleet reimage:
// sample image, `serve`, N nodes in network namespaces with shaped links,
// live progress, a summary with the swarm's numbers, every node checked.
import { Command, Option } from 'commander'
import { errors } from '../../common/errors.ts'
import { LOOPBACK_NODES, runDemo } from '../demo/index.ts'
import { printJson, wholeNumber } from '../shared.ts'

interface DemoFlags {
  nodes: number
  nodeRate?: number
  serverRate?: number
  disks?: boolean
  keep?: boolean
  sampleMb?: number
  workDir?: string
  seedTime: number
  timeout: number
  json?: boolean
}

const HELP = `
What happens:
  1. A sample system image is built (a few hundred files, about 64 MB, an override, and a
     post-install script run by a static busybox in a chroot), imported and packed: an
     uncompressed tar, a private torrent and a signed manifest.
  2. A fleet is simulated with network namespaces: one host "server" and N hosts
     node01..nodeNN on a bridge. Each link is shaped with tc: --node-rate for the
     nodes, --server-rate for the server's uplink.
  3. "imgswarm serve" runs on the server host; "imgswarm install" runs on every node at
     once, into a directory per node (--target-dir), or onto a loop-device disk per
     node with --disks (partitioned, formatted, GRUB installed).
  4. Live: a bar per node and the swarm totals. The server's event API URL is printed
     with the curl line to query it.
  5. Summary: wall time, bytes sent by the server vs by the nodes to each other, the
     time unicast from the server would need (N x image / server rate), and each node's
     install checked (exit 0, in place, files equal to the image, override, identity).

Everything is removed at the end, on failure and on Ctrl-C (namespaces, processes, loop
devices, the work directory unless --keep).

Needs root and iproute2 (ip, tc). Without them it says why and runs a smaller loopback
version: ${LOOPBACK_NODES} nodes on 127.0.0.1, no shaping, the server capped by serve.upload_limit
(and, without root, no post-install script).

Examples:
  imgswarm demo                          16 nodes, 100 Mbit/s links, 50 Mbit/s server
  imgswarm demo --nodes 32 --server-rate 20
  imgswarm demo --disks --nodes 8        full installs onto loop-device disks
  imgswarm demo --json > result.json     the summary as JSON (progress on stderr)

Docs: docs/demo.md`

export function demoCommand(): Command {
  return new Command('demo')
    .description('reimage a simulated fleet with the swarm and show the numbers (root; loopback fallback)')
    .option('--nodes <n>', 'nodes in the fleet (1-64)', wholeNumber('--nodes', 1, 64), 16)
    .option(
      '--node-rate <mbit>',
      "each node's link, Mbit/s, both directions (default 100)",
      wholeNumber('--node-rate', 1, 10_000),
    )
    .option(
      '--server-rate <mbit>',
      "the server's uplink, Mbit/s (default 50; 16 in the loopback version)",
      wholeNumber('--server-rate', 1, 10_000),
    )
    .option('--disks', 'install onto a loop-device disk per node (partition, format, GRUB) instead of a directory')
    .option('--keep', 'keep the work directory (store, node targets) and print where it is')
    .option('--work-dir <dir>', 'where to make the work directory (default: the system temp dir)')
    .option(
      '--seed-time <s>',
      'longest time a node keeps seeding after its install',
      wholeNumber('--seed-time', 0, 3600),
      120,
    )
    .option(
      '--timeout <s>',
      'stop the nodes still running after this long (they count as failed)',
      wholeNumber('--timeout', 10, 86_400),
      900,
    )
    .option('--json', 'print the summary as JSON on stdout')
    .addOption(
      new Option('--sample-mb <mb>', 'size of the sample image data, MB (tests)')
        .argParser(wholeNumber('--sample-mb', 1, 4096))
        .hideHelp(),
    )
    .addHelpText('after', HELP)
    .action(async (f: DemoFlags) => {
      const ac = new AbortController()
      const stop = () => {
        process.stderr.write('\nimgswarm demo: interrupted, cleaning up (Ctrl-C again to exit at once)\n')
        ac.abort(errors.usage('interrupted'))
        process.once('SIGINT', () => process.exit(130))
      }
      process.once('SIGINT', stop)
      process.once('SIGTERM', stop)
      try {
        const summary = await runDemo({
          nodes: f.nodes,
          nodeRate: f.nodeRate,
          serverRate: f.serverRate,
          disks: f.disks === true,
          keep: f.keep === true,
          sampleMb: f.sampleMb,
          workParent: f.workDir,
          json: f.json === true,
          seedTime: f.seedTime,
          timeoutSec: f.timeout,
          signal: ac.signal,
        })
        if (f.json) printJson(summary)
        if (summary.failed.length > 0 || summary.wallSeconds === null) process.exitCode = 1
      } catch (e) {
        // Interrupted: cleanup has run; exit as a shell expects after Ctrl-C.
        if (!ac.signal.aborted) throw e
        process.exitCode = 130
      } finally {
        process.off('SIGINT', stop)
        process.off('SIGTERM', stop)
      }
    })
}
