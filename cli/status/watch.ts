// `imgswarm status --watch`: the table kept live from the SSE stream and
// redrawn in place. One write per frame (cursor home, each line cleared to
// its end, the rest of the screen cleared), at most 4 frames a second, on
// the alternate screen so the shell's scrollback is left as it was.
import { errors } from '../../common/errors.ts'
import type { FleetSummary, NodeRow, StatusServer } from './client.ts'
import { getJson, nodesPath, openStream } from './client.ts'
import { renderTable } from './render.ts'

export interface WatchOpts {
  state?: string
  group?: string
  json?: boolean
  out?: NodeJS.WriteStream
}

const FRAME_MS = 250

export async function watch(server: StatusServer, o: WatchOpts, signal: AbortSignal): Promise<void> {
  const out = o.out ?? process.stdout
  const tty = out.isTTY === true && !o.json
  const nodes = new Map<string, NodeRow>()
  let fleet: FleetSummary | undefined
  let note = 'connecting'
  let timer: NodeJS.Timeout | undefined
  let lastFrame = 0

  const keep = (n: NodeRow) => (!o.state || n.state === o.state) && (!o.group || n.group === o.group)
  const frame = () => {
    timer = undefined
    lastFrame = Date.now()
    const width = out.columns ?? 100
    const height = out.rows ?? 40
    const color = tty && !process.env.NO_COLOR
    const lines = renderTable([...nodes.values()], fleet, { width, color, unicode: tty })
    const head = `imgswarm status — ${server.url} — ${note} — ${new Date().toLocaleTimeString([], { hour12: false })}  (Ctrl-C quits)`
    const totalsLine = lines.pop() as string
    let body = lines
    // Keep the totals visible: cut rows that do not fit, and say how many.
    const room = Math.max(2, height - 3)
    if (body.length > room)
      body = [...body.slice(0, room - 1), `… ${lines.length - room} more nodes (widen the filter with --state/--group)`]
    const all = [head.slice(0, width), ...body.map((l) => clip(l, width)), clip(totalsLine, width)]
    if (tty) out.write(`\x1b[H${all.map((l) => `${l}\x1b[K`).join('\n')}\n\x1b[J`)
    else out.write(`${all.join('\n')}\n\n`)
  }
  const redraw = () => {
    if (o.json || timer) return
    timer = setTimeout(frame, Math.max(0, lastFrame + (tty ? FRAME_MS : 2000) - Date.now()))
  }

  const onResize = () => redraw()
  if (tty) {
    out.write('\x1b[?1049h\x1b[?25l\x1b[H\x1b[2J')
    out.on('resize', onResize)
  }
  try {
    let backoff = 1000
    while (!signal.aborted) {
      try {
        // The stream first, then the snapshot: nothing posted in between is lost.
        const events = await openStream(server, signal)
        const [list, f] = await Promise.all([
          getJson<{ nodes: NodeRow[] }>(server, nodesPath(o), signal),
          getJson<FleetSummary>(server, '/api/v1/fleet', signal),
        ])
        nodes.clear()
        for (const n of list.nodes) nodes.set(n.id, n)
        fleet = f
        note = 'live'
        if (o.json) for (const n of list.nodes) out.write(`${JSON.stringify({ event: 'node', data: n })}\n`)
        redraw()
        for await (const ev of events) {
          backoff = 1000
          if (ev.event === 'node') {
            const n = ev.data as NodeRow
            if (keep(n)) nodes.set(n.id, n)
            else nodes.delete(n.id)
          } else if (ev.event === 'fleet') fleet = ev.data as FleetSummary
          else if (ev.event !== 'install') continue
          if (o.json) out.write(`${JSON.stringify(ev)}\n`)
          redraw()
        }
        if (signal.aborted) break
        note = 'stream ended, reconnecting'
      } catch (e) {
        if (signal.aborted) break
        // A refused token will not fix itself; a restarting server will come back.
        if (errors.statusServer.code === (e as { code?: string }).code && /token/.test((e as Error).message)) throw e
        if (nodes.size === 0 && note === 'connecting') throw e
        note = `reconnecting (${(e as Error).message.slice(0, 80)})`
      }
      redraw()
      await sleep(backoff, signal)
      backoff = Math.min(backoff * 2, 15_000)
    }
  } finally {
    if (timer) clearTimeout(timer)
    if (tty) {
      out.off('resize', onResize)
      out.write('\x1b[?25h\x1b[?1049l')
    }
  }
}

/** Cuts a line to the terminal width, not counting ANSI color codes. */
function clip(line: string, width: number): string {
  let visible = 0
  let out = ''
  for (let i = 0; i < line.length; i++) {
    if (line[i] === '\x1b') {
      const end = line.indexOf('m', i)
      if (end > 0) {
        out += line.slice(i, end + 1)
        i = end
        continue
      }
    }
    if (visible >= width) break
    out += line[i]
    visible++
  }
  return out.includes('\x1b[') && !out.endsWith('\x1b[0m') ? `${out}\x1b[0m` : out
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms)
    function done() {
      clearTimeout(t)
      signal.removeEventListener('abort', done)
      resolve()
    }
    signal.addEventListener('abort', done, { once: true })
  })
}
