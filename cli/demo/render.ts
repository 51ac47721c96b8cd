// The live view: on a terminal, a block redrawn in place (one line per node,
// or a compact grid when the nodes do not fit the terminal's height); in a
// log, a plain line every few seconds plus one line per node event.
import { formatBytes, formatDuration } from '../../common/progress.ts'
import { type FleetState, type NodeState, totals } from './state.ts'

const BLOCKS = ' ▏▎▍▌▋▊▉█'
const LEVELS = '▁▂▃▄▅▆▇█'

function bar(pct: number, width: number): string {
  const cells = (Math.max(0, Math.min(100, pct)) / 100) * width
  const full = Math.floor(cells)
  const part = full < width ? (BLOCKS[Math.floor((cells - full) * 8)] ?? ' ') : ''
  return `${'█'.repeat(full)}${part}${' '.repeat(Math.max(0, width - full - part.length))}`
}

function rate(bps: number): string {
  return `${formatBytes(bps)}/s`
}

function label(n: NodeState): string {
  if (n.failed !== undefined || (n.exit !== undefined && n.exit.code !== 0)) return 'FAILED'
  if (n.installedAt !== undefined) return n.exit === undefined ? 'installed, seeding' : 'installed'
  return n.step
}

export function headline(s: FleetState, now: number): string {
  const t = totals(s)
  const n = s.nodes.length
  return (
    `${formatDuration((now - s.startedAt) / 1000)}  installed ${t.installed}/${n}` +
    (t.failed > 0 ? `, FAILED ${t.failed}` : '') +
    `  | from server ${formatBytes(t.fromServer)}, from peers ${formatBytes(t.fromPeers)}` +
    `  | ${rate(t.rate)} aggregate`
  )
}

function nodeLine(n: NodeState, cols: number): string {
  const w = Math.max(10, Math.min(40, cols - 62))
  return (
    `${n.name.padEnd(7)}${bar(n.percent, w)} ${n.percent.toFixed(0).padStart(3)}% ` +
    `${rate(n.rateDown).padStart(11)}  up ${formatBytes(n.bytesUp).padStart(8)}  ${label(n)}`
  )
}

function cell(n: NodeState): string {
  const mark =
    label(n) === 'FAILED' ? ' X' : n.installedAt !== undefined ? ' ✓' : `${n.percent.toFixed(0).padStart(3)}%`
  return `${n.name.replace(/^node/, '').padStart(2)} ${bar(n.percent, 6)}${mark.padStart(5)}`
}

function glyph(n: NodeState): string {
  if (label(n) === 'FAILED') return 'X'
  if (n.installedAt !== undefined) return '✓'
  return LEVELS[Math.min(7, Math.floor(n.percent / 12.5))] ?? ' '
}

/** The block for a terminal of `cols` x `rows`: never wider than cols - 1, never taller than rows - 1. */
export function renderBlock(s: FleetState, now: number, cols: number, rows: number): string[] {
  const fit = (l: string) => (l.length >= cols ? l.slice(0, Math.max(1, cols - 1)) : l)
  const head = [headline(s, now)]
  const room = Math.max(1, rows - 1 - head.length)
  let body: string[]
  if (s.nodes.length <= room) body = s.nodes.map((n) => nodeLine(n, cols))
  else {
    // A cell is 14 characters, with 2 between cells.
    const per = Math.max(1, Math.floor((cols + 1) / 16))
    if (Math.ceil(s.nodes.length / per) <= room) {
      body = []
      for (let i = 0; i < s.nodes.length; i += per)
        body.push(
          s.nodes
            .slice(i, i + per)
            .map(cell)
            .join('  '),
        )
    } else {
      const per1 = Math.max(1, cols - 1)
      body = []
      for (let i = 0; i < s.nodes.length; i += per1)
        body.push(
          s.nodes
            .slice(i, i + per1)
            .map(glyph)
            .join(''),
        )
      body = body.slice(0, room)
    }
  }
  return [...head, ...body].map(fit)
}

/** Redraws a block in place on a terminal. */
export class TtyView {
  #drawn = 0
  readonly #out: NodeJS.WriteStream

  constructor(out: NodeJS.WriteStream) {
    this.#out = out
  }

  draw(lines: string[]): void {
    let s = this.#drawn > 0 ? `\x1b[${this.#drawn}F` : '\x1b[?25l'
    for (const l of lines) s += `\x1b[2K${l}\n`
    // Clear what is left of a taller previous block.
    for (let i = lines.length; i < this.#drawn; i++) s += '\x1b[2K\n'
    if (this.#drawn > lines.length) s += `\x1b[${this.#drawn - lines.length}F`
    this.#out.write(s)
    this.#drawn = lines.length
  }

  end(): void {
    this.#out.write('\x1b[?25h')
    this.#drawn = 0
  }
}
