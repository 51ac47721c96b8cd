// Progress for long work: a redrawn bar with bytes, rate and ETA on a
// terminal; plain lines every 10% (or 15 s) otherwise, so logs stay readable.
import type { Writable } from 'node:stream'

export function formatBytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB']
  let v = n
  let i = 0
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000
    i++
  }
  return `${i === 0 ? v : v.toFixed(v >= 100 ? 0 : v >= 10 ? 1 : 2)} ${units[i]}`
}

export function formatDuration(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '--:--'
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  const sec = Math.floor(s % 60)
  const mm = String(m).padStart(2, '0')
  const ss = String(sec).padStart(2, '0')
  return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`
}

export interface ProgressInit {
  label: string
  total: number
  stream?: Writable & { isTTY?: boolean; columns?: number }
  /** Force the mode; defaults to the stream's isTTY. */
  tty?: boolean
  enabled?: boolean
}

export class Progress {
  readonly #label: string
  #total: number
  readonly #out: Writable & { isTTY?: boolean; columns?: number }
  readonly #tty: boolean
  readonly #enabled: boolean
  readonly #start = performance.now()
  #lastDraw = 0
  #lastLinePct = -1
  #lastLineAt = 0
  #done = 0
  #finished = false

  constructor(init: ProgressInit) {
    this.#label = init.label
    this.#total = init.total
    this.#out = init.stream ?? process.stderr
    this.#tty = init.tty ?? this.#out.isTTY === true
    this.#enabled = init.enabled ?? true
  }

  update(done: number, total?: number): void {
    if (total !== undefined) this.#total = total
    this.#done = done
    if (!this.#enabled || this.#finished) return
    const now = performance.now()
    if (this.#tty) {
      if (now - this.#lastDraw < 100) return
      this.#lastDraw = now
      this.#out.write(`\r\x1b[K${this.#line()}`)
      return
    }
    const pct = this.#total > 0 ? Math.floor((done / this.#total) * 10) * 10 : 0
    if (pct > this.#lastLinePct || now - this.#lastLineAt > 15_000) {
      this.#lastLinePct = pct
      this.#lastLineAt = now
      this.#out.write(`${this.#line()}\n`)
    }
  }

  #line(): string {
    const secs = (performance.now() - this.#start) / 1000
    const rate = secs > 0 ? this.#done / secs : 0
    const frac = this.#total > 0 ? Math.min(1, this.#done / this.#total) : 0
    const eta = rate > 0 ? (this.#total - this.#done) / rate : Number.NaN
    const width = 24
    const fill = Math.round(frac * width)
    const bar = this.#tty ? ` [${'#'.repeat(fill)}${'.'.repeat(width - fill)}]` : ''
    return `${this.#label}${bar} ${(frac * 100).toFixed(0).padStart(3)}% ${formatBytes(this.#done)}/${formatBytes(this.#total)} ${formatBytes(rate)}/s ETA ${formatDuration(eta)}`
  }

  get finished(): boolean {
    return this.#finished
  }

  /** On a terminal, clears the bar's line so another line can be printed there; the next update redraws it. */
  clearLine(): void {
    if (this.#enabled && this.#tty && !this.#finished && this.#lastDraw > 0) this.#out.write('\r\x1b[K')
  }

  /** Ends the display with a summary line; later updates draw nothing (a bar redrawn after its end interleaves with the lines that follow). */
  finish(summary?: string): void {
    if (!this.#enabled || this.#finished) return
    this.#finished = true
    const secs = (performance.now() - this.#start) / 1000
    const text = summary ?? `${this.#label}: ${formatBytes(this.#done)} in ${secs.toFixed(1)} s`
    this.#out.write(this.#tty ? `\r\x1b[K${text}\n` : `${text}\n`)
  }
}
