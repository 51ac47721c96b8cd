// Fleet overview: counts per state (click one to filter the table), the
// aggregate rates and totals, and a chart of the bytes per second the nodes
// got from the server and from each other, over the last hour.
import { bytes, el, rate } from './format.js'

export const STATES = ['discovered', 'idle', 'reimage-requested', 'installing', 'done', 'failed']
const WINDOW_MS = 3600 * 1000
const SVG = 'http://www.w3.org/2000/svg'

export class Overview {
  #counts = new Map()
  #history = []
  #chart = document.getElementById('chart')
  #onPick
  #picked = ''

  constructor({ onPick }) {
    this.#onPick = onPick
    const box = document.getElementById('counts')
    for (const s of STATES) {
      const n = el('span', { class: 'n', text: '0' })
      const b = el('button', { class: 'count', type: 'button', 'data-state': s, title: `show ${s} nodes` }, n)
      b.append(el('span', { class: 'l', text: s }))
      b.addEventListener('click', () => this.#onPick(this.#picked === s ? '' : s))
      box.append(b)
      this.#counts.set(s, { b, n })
    }
    new ResizeObserver(() => this.#draw()).observe(this.#chart)
  }

  picked(state) {
    this.#picked = state
    for (const [s, c] of this.#counts) c.b.classList.toggle('on', s === state)
  }

  /** The /fleet object, with history on first load, without it from the stream. */
  update(f) {
    for (const [s, c] of this.#counts) {
      const v = String(f.counts?.[s] ?? 0)
      if (c.n.textContent !== v) c.n.textContent = v
    }
    setText('kpi-down', rate(f.rateDown))
    setText('kpi-up', rate(f.rateUp))
    setText('kpi-server', bytes(f.bytesFromServer))
    setText('kpi-peers', bytes(f.bytesFromPeers))
    const total = (f.bytesFromServer ?? 0) + (f.bytesFromPeers ?? 0)
    setText('kpi-share', total > 0 ? `${Math.round((100 * f.bytesFromPeers) / total)}%` : '–')
    if (Array.isArray(f.history)) {
      this.#history = f.history.map((h) => ({ ...h, t: Date.parse(h.t) })).filter((h) => Number.isFinite(h.t))
    } else {
      this.#history.push({
        t: Date.now(),
        rateDown: f.rateDown ?? 0,
        rateUp: f.rateUp ?? 0,
        bytesFromServer: f.bytesFromServer ?? 0,
        bytesFromPeers: f.bytesFromPeers ?? 0,
      })
    }
    const cut = Date.now() - WINDOW_MS
    while (this.#history.length > 0 && this.#history[0].t < cut) this.#history.shift()
    this.#draw()
  }

  #draw() {
    const svg = this.#chart
    const w = Math.max(200, svg.clientWidth)
    const h = Math.max(80, svg.clientHeight)
    svg.setAttribute('viewBox', `0 0 ${w} ${h}`)
    svg.replaceChildren()
    const pad = { l: 58, r: 6, t: 8, b: 18 }
    const pts = []
    const hs = this.#history
    for (let i = 1; i < hs.length; i++) {
      const a = hs[i - 1]
      const b = hs[i]
      const dt = (b.t - a.t) / 1000
      if (dt <= 0) continue
      pts.push({
        t: b.t,
        server: Math.max(0, (b.bytesFromServer - a.bytesFromServer) / dt),
        peers: Math.max(0, (b.bytesFromPeers - a.bytesFromPeers) / dt),
        up: b.rateUp ?? 0,
        down: b.rateDown ?? 0,
      })
    }
    const now = Date.now()
    const t0 = pts.length > 0 ? Math.min(pts[0].t, now - 90_000) : now - 90_000
    const max = niceMax(Math.max(1, ...pts.map((p) => Math.max(p.server + p.peers, p.up, p.down))))
    const x = (t) => pad.l + ((t - t0) / Math.max(1, now - t0)) * (w - pad.l - pad.r)
    const y = (v) => h - pad.b - (v / max) * (h - pad.t - pad.b)
    for (let i = 0; i <= 3; i++) {
      const v = (max * i) / 3
      svg.append(line(pad.l, y(v), w - pad.r, y(v), 'grid'))
      svg.append(text(pad.l - 6, y(v) + 3, rate(v), 'end'))
    }
    const mins = Math.round((now - t0) / 60_000)
    svg.append(text(pad.l, h - 4, mins >= 2 ? `${mins} min ago` : `${Math.round((now - t0) / 1000)} s ago`, 'start'))
    svg.append(text(w - pad.r, h - 4, 'now', 'end'))
    if (pts.length === 0) {
      svg.append(text((w + pad.l) / 2, h / 2, 'waiting for data…', 'middle'))
      return
    }
    svg.append(
      area(
        pts,
        x,
        () => y(0),
        (p) => y(p.server),
        'a-server',
      ),
    )
    svg.append(
      area(
        pts,
        x,
        (p) => y(p.server),
        (p) => y(p.server + p.peers),
        'a-peers',
      ),
    )
    // The nodes' own rates as lines: download (what the areas split by source) and upload.
    for (const [key, cls] of [
      ['down', 'l-down'],
      ['up', 'l-up'],
    ]) {
      const d = pts.map((p, i) => `${i === 0 ? 'M' : 'L'}${x(p.t).toFixed(1)},${y(p[key]).toFixed(1)}`).join('')
      svg.append(node('path', { d, class: cls }))
    }
  }
}

function setText(id, v) {
  const e = document.getElementById(id)
  if (e.textContent !== v) e.textContent = v
}

/** A round top for the y axis with three round steps below it. */
function niceMax(v) {
  const raw = v / 3
  const p = 10 ** Math.floor(Math.log10(raw))
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= raw) return 3 * m * p
  return 30 * p
}

function node(tag, attrs) {
  const e = document.createElementNS(SVG, tag)
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v))
  return e
}
const line = (x1, y1, x2, y2, cls) => node('line', { x1, y1, x2, y2, class: cls })
function text(xx, yy, s, anchor) {
  const t = node('text', { x: xx, y: yy, 'text-anchor': anchor, class: 'axis' })
  t.textContent = s
  return t
}
function area(pts, x, lo, hi, cls) {
  const top = pts.map((p, i) => `${i === 0 ? 'M' : 'L'}${x(p.t).toFixed(1)},${hi(p).toFixed(1)}`).join('')
  const bottom = [...pts]
    .reverse()
    .map((p) => `L${x(p.t).toFixed(1)},${lo(p).toFixed(1)}`)
    .join('')
  return node('path', { d: `${top}${bottom}Z`, class: cls })
}
