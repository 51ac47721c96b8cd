// The two classic ways: every node fetches the archive over HTTP from the
// server (curl | tar -x: a plain web server, or SystemImager's rsync), and
// udpcast multicast (udp-sender / udp-receiver | tar -x: Clonezilla, FOG).
import { errors } from '../../common/errors.ts'
import { type Ctx, checkExtracted, freshDirs, type MethodResult, summarize } from './method.ts'
import { launch, settledAll, stop, sweep } from './procs.ts'
import { interfaceOf, type Serve, txBytes } from './server.ts'

const UNICAST = 'set -o pipefail; curl -sf "$1" | tar -x --numeric-owner -C "$2"'
/** udp-receiver writes the stream to stdout; NOTES.md: both ends need the rendezvous address on a bridge. */
const RECEIVER =
  'set -o pipefail; udp-receiver --nokbd --mcast-rdv-address 224.0.0.1 --interface "$1" | tar -x --numeric-owner -C "$2"'
/** Held a little below the link rate: tc drops what exceeds it, and every drop costs udpcast a retransmission round. */
export const MULTICAST_SHARE = 0.95

export async function unicast(ctx: Ctx, s: Serve): Promise<MethodResult> {
  const dirs = freshDirs(ctx)
  const { server, nodes } = ctx.fleet
  const env = { ...process.env }
  const tx0 = await txBytes(server)
  const t0 = performance.now()
  const procs = nodes.map((h, i) =>
    launch(h, 'bash', ['-c', UNICAST, 'unicast', s.url + s.webseed, dirs[i] as string], env, 'exit'),
  )
  await settledAll(procs, ctx.signal)
  const tx = (await txBytes(server)) - tx0
  await Promise.all(nodes.map(sweep))
  if (ctx.signal.aborted) throw errors.tool('bench', 'interrupted')
  checkExtracted(ctx, procs, dirs)
  return summarize('unicast', t0, procs, tx)
}

export async function multicast(ctx: Ctx): Promise<MethodResult> {
  const dirs = freshDirs(ctx)
  const { server, nodes } = ctx.fleet
  const env = { ...process.env }
  const ifaces = await Promise.all(nodes.map(interfaceOf))
  const serverIface = await interfaceOf(server)
  // udpcast takes whole numbers only: 47.5m is refused ("Unit . unsupported").
  const kbit = Math.floor((ctx.linkBps * MULTICAST_SHARE) / 1e3)
  const tx0 = await txBytes(server)
  const t0 = performance.now()
  const procs = nodes.map((h, i) =>
    launch(h, 'bash', ['-c', RECEIVER, 'multicast', ifaces[i] as string, dirs[i] as string], env, 'exit'),
  )
  const senderArgs = ['--file', ctx.image.archive, '--min-receivers', String(nodes.length), '--nokbd']
  senderArgs.push('--mcast-rdv-address', '224.0.0.1', '--interface', serverIface, '--max-bitrate', `${kbit}k`)
  const sender = launch(server, 'udp-sender', senderArgs, env, 'exit')
  // A sender that fails leaves the receivers waiting forever: stop waiting then.
  const senderFailed = sender.settled.then(() => {
    if (sender.failed !== undefined) throw errors.tool('udp-sender', sender.failed)
  })
  try {
    await Promise.race([settledAll(procs, ctx.signal), senderFailed.then(() => new Promise(() => {}))])
  } catch (e) {
    await Promise.all(nodes.map(sweep))
    throw e
  }
  const tx = (await txBytes(server)) - tx0
  // The sender ends on its own once every receiver confirmed the last slice.
  await Promise.race([sender.closed, new Promise((r) => setTimeout(r, 10_000).unref())])
  await stop(sender.child, 2000)
  await Promise.all(nodes.map(sweep))
  if (ctx.signal.aborted) throw errors.tool('bench', 'interrupted')
  checkExtracted(ctx, procs, dirs)
  return summarize('multicast', t0, procs, tx, `udp-sender --max-bitrate ${kbit}k`)
}
